// HTTP's hop-by-hop fields (RFC 9110 §7.6.1): what no proxy on the app path (edge, tunnel, relay) passes on.

/** Connection-specific fields, plus the legacy `keep-alive` and `proxy-connection`. Lower case. */
export const HOP_BY_HOP_HEADERS: ReadonlySet<string> = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]);

/** The field names a `Connection` header value lists (they are hop-by-hop too), lower case. */
export function connectionNamed(connection: string | null | undefined): Set<string> {
  return new Set(
    String(connection ?? '')
      .toLowerCase()
      .split(',')
      .map((t) => t.trim())
      .filter(Boolean),
  );
}
