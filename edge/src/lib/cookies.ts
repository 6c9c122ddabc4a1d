// Reading the Cookie request header by name, keeping every occurrence.
// Our own few lines: hono/cookie's parser keeps one value per name, and a name sent twice is exactly what
// tells a tossed cookie (set by a sibling host for a parent domain) from the console's own.

/** Every value sent for `name`, in header order (RFC 6265 §5.4 sends more specific paths first). */
export function cookieValues(header: string | null, name: string): string[] {
  if (!header) return [];
  const out: string[] = [];
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) out.push(part.slice(eq + 1).trim());
  }
  return out;
}

/** The value of `name` when it is sent exactly once; null when absent or ambiguous. */
export function singleCookie(header: string | null, name: string): string | null {
  const values = cookieValues(header, name);
  return values.length === 1 ? values[0]! : null;
}
