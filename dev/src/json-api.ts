// The JSON API helper for the edge used by the stack kit, the demo seeding, the tests and the benchmarks: bearer token in, {status, body} out.
// Runtime-free (no node:*): the workerd tests read their in-process answers with `readResult` too.

export interface ApiResult<T> {
  status: number;
  body: T;
}

export interface ApiCall {
  /** Default: GET without a body, POST with one. */
  method?: string;
  token?: string | null;
  body?: unknown;
}

export type Api = <T = Record<string, unknown>>(path: string, o?: ApiCall) => Promise<ApiResult<T>>;

/** Calls `${base()}${path}`; the body is parsed JSON (null when empty, the text when it is not JSON). */
export function jsonApi(base: string | (() => string)): Api {
  const origin = typeof base === 'string' ? () => base : base;
  return async <T>(path: string, o: ApiCall = {}): Promise<ApiResult<T>> => {
    const init: RequestInit = {
      method: o.method ?? (o.body === undefined ? 'GET' : 'POST'),
      headers: {
        ...(o.token ? { authorization: `Bearer ${o.token}` } : {}),
        ...(o.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: o.body === undefined ? undefined : JSON.stringify(o.body),
    };
    const url = `${origin()}${path}`;
    // workerd may close an idle keep-alive socket just as undici reuses it: such a request is retried once.
    return readResult<T>(await fetch(url, init).catch(() => fetch(url, init)));
  };
}

/** A response as `{status, body}`: parsed JSON, null when empty, the text when it is not JSON. */
export async function readResult<T>(res: Response): Promise<ApiResult<T>> {
  const text = await res.text();
  let body: unknown = null;
  if (text) {
    try {
      body = JSON.parse(text);
    } catch {
      body = text;
    }
  }
  return { status: res.status, body: body as T };
}

/** The body of a 2xx answer; anything else throws with the status and the body (for set-up code, not for assertions). */
export function ok<T>(what: string, r: ApiResult<T>): T {
  if (r.status < 200 || r.status > 299) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}
