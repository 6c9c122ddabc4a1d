// Reading dockerode errors: the engine's own message and the HTTP status.
export function dockerMessage(err: unknown): string {
  const json = (err as { json?: { message?: string } }).json;
  if (json?.message) return json.message;
  return err instanceof Error ? err.message : String(err);
}

export function statusCode(err: unknown): number | undefined {
  return (err as { statusCode?: number }).statusCode;
}
