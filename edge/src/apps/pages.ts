// Error answers on app hosts: JSON for programs, a small HTML page for browsers (they asked for text/html).
import { errorBody } from '../errors.ts';

const TITLES: Record<number, string> = {
  403: 'No access to this app',
  404: 'No such app',
  502: 'The app is unreachable',
  504: 'The app did not answer in time',
};

/** Titles that say more than the status: a lost relay is not the app's fault, and it comes back by itself. */
const CODE_TITLES: Record<string, string> = {
  host_offline: 'The environment is unreachable: its relay is offline',
};

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (ch) => `&#${ch.charCodeAt(0)};`);

export function appError(
  request: Request,
  status: number,
  code: string,
  message: string,
  consoleUrl?: string | null,
): Response {
  const wantsHtml = (request.headers.get('accept') ?? '').includes('text/html');
  const headers = { 'cache-control': 'no-store' };
  if (!wantsHtml) return Response.json(errorBody(code, message), { status, headers });
  const title = CODE_TITLES[code] ?? TITLES[status] ?? 'Error';
  const link = consoleUrl ? `<p><a href="${escapeHtml(consoleUrl)}">Open the RemoteGPU console</a></p>` : '';
  const html =
    `<!doctype html><html><head><meta charset="utf-8"><title>${title}</title>` +
    '<meta name="viewport" content="width=device-width,initial-scale=1">' +
    '<style>body{font:16px system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;color:#222}code{color:#666}</style></head>' +
    `<body><h1>${title}</h1><p>${escapeHtml(message)}</p>${link}<p><code>${status} ${escapeHtml(code)}</code></p></body></html>`;
  return new Response(html, { status, headers: { ...headers, 'content-type': 'text/html; charset=utf-8' } });
}
