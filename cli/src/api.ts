// The API client: JSON over fetch with the stored token, typed with schema's API types; every failure a CliError.
import type { Credentials } from './config.ts';
import { CliError, EXIT, apiError } from './errors.ts';
import { t } from './i18n.ts';

export interface ApiClient {
  readonly url: string;
  call<T>(method: string, path: string, body?: unknown): Promise<T>;
}

export function apiClient(url: string, token: string | null, fetchImpl: typeof fetch = fetch): ApiClient {
  return {
    url,
    async call<T>(method: string, path: string, body?: unknown): Promise<T> {
      let res: Response;
      try {
        res = await fetchImpl(`${url}${path}`, {
          method,
          headers: {
            accept: 'application/json',
            ...(token ? { authorization: `Bearer ${token}` } : {}),
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(120_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        const reason = cause?.code ?? cause?.message ?? (err as Error).message;
        throw new CliError(t('err.unreachable', { url, reason }), EXIT.network, 'unreachable');
      }
      const text = await res.text();
      let parsed: unknown = null;
      if (text) {
        try {
          parsed = JSON.parse(text);
        } catch {
          parsed = null;
        }
      }
      if (!res.ok) throw apiError(res.status, parsed);
      return parsed as T;
    },
  };
}

/** The client for the stored login (REMOTEGPU_TOKEN / REMOTEGPU_URL win over the file). */
export function loggedIn(creds: Credentials | null, env: NodeJS.ProcessEnv = process.env): ApiClient {
  const token = env.REMOTEGPU_TOKEN || creds?.token;
  const url = env.REMOTEGPU_URL || creds?.url;
  if (!token || !url) throw new CliError(t('err.notLoggedIn'), EXIT.auth, 'not_logged_in');
  return apiClient(url, token);
}
