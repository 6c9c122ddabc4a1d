// Reads what is left of a request body the handler answered without reading, so the client's kept-alive connection survives.

/** Bodies up to this size are read to the end before the answer goes out; bigger ones are cancelled (the connection then closes). */
const DRAIN_LIMIT = 1024 * 1024;

/**
 * workerd closes a connection whose request body was not read, and a client that already sent its next request on it
 * sees ECONNRESET. Reading the rest first (a 401 to a small POST) keeps the connection; a large unread upload is cancelled.
 */
export async function drainUnread(request: Request, limit = DRAIN_LIMIT): Promise<void> {
  const body = request.body;
  if (!body || request.bodyUsed || body.locked) return;
  const declared = Number(request.headers.get('content-length') ?? NaN);
  if (declared > limit) {
    await body.cancel().catch(() => {});
    return;
  }
  const reader = body.getReader();
  let seen = 0;
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      seen += value.byteLength;
      if (seen > limit) {
        await reader.cancel().catch(() => {});
        return;
      }
    }
  } catch {
    // The client went away mid-body: nothing to keep.
  }
}
