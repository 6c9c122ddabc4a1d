// Cross-site writes: a page on a renter's app host (same site as the console) cannot act as the logged-in visitor,
// cookies planted by another host are not trusted, and bearer-token clients are unaffected.
import { describe, expect, it } from 'vitest';
import { ORIGIN, call, json, registerUser } from './helpers.ts';

const APP_ORIGIN = 'http://abcdefghij012345-8888.container.localhost';

async function tokenCount(token: string): Promise<number> {
  return (await json<{ items: unknown[] }>('/api/v1/tokens', { token })).body.items.length;
}

/** A browser request carrying the visitor's console cookie, with the body and headers a cross-site page can send. */
function browserPost(path: string, cookie: string, body: string, headers: Record<string, string>): Promise<Response> {
  return call(path, { method: 'POST', raw: body, headers: { cookie, ...headers } });
}

describe('cookie-authenticated writes', () => {
  it('refuses the simple bodies a cross-site form or no-cors fetch can send, and changes nothing', async () => {
    const user = await registerUser();
    const cookie = `rg_session=${user.token}`;
    const before = await tokenCount(user.token);
    const attempts: [string, Record<string, string>, number, string][] = [
      ['{"name":"x"}', { 'content-type': 'text/plain', origin: APP_ORIGIN }, 415, 'unsupported_media_type'],
      [
        'name=x',
        { 'content-type': 'application/x-www-form-urlencoded', origin: APP_ORIGIN },
        415,
        'unsupported_media_type',
      ],
      [
        '--b\r\ncontent-disposition: form-data; name="name"\r\n\r\nx\r\n--b--\r\n',
        { 'content-type': 'multipart/form-data; boundary=b', origin: APP_ORIGIN },
        415,
        'unsupported_media_type',
      ],
      // Even JSON from the app's origin (it would need a CORS preflight a browser never gets answered, but a
      // non-browser client behind a victim's cookie must not pass either).
      ['{"name":"x"}', { 'content-type': 'application/json', origin: APP_ORIGIN }, 403, 'cross_origin_request'],
      [
        '{"name":"x"}',
        { 'content-type': 'application/json', 'sec-fetch-site': 'same-site' },
        403,
        'cross_origin_request',
      ],
      ['{"name":"x"}', { 'content-type': 'application/json', origin: 'null' }, 403, 'cross_origin_request'],
      // A cookie with neither Origin nor fetch metadata: not the console (browsers always send Origin on writes).
      ['{"name":"x"}', { 'content-type': 'application/json' }, 403, 'cross_origin_request'],
    ];
    for (const [body, headers, status, code] of attempts) {
      const r = await browserPost('/api/v1/tokens', cookie, body, headers);
      expect(r.status, JSON.stringify(headers)).toBe(status);
      expect(await r.json()).toMatchObject({ error: { code } });
    }
    const del = await call('/api/v1/auth/logout', { method: 'POST', headers: { cookie, origin: APP_ORIGIN } });
    expect(del.status).toBe(403);
    expect(await tokenCount(user.token)).toBe(before);
    expect((await json('/api/v1/me', { headers: { cookie } })).status).toBe(200); // still logged in: logout was refused
  });

  it("accepts the console's own JSON requests (Origin or Sec-Fetch-Site: same-origin)", async () => {
    const user = await registerUser();
    const cookie = `rg_session=${user.token}`;
    const a = await browserPost('/api/v1/tokens', cookie, '{"name":"a"}', {
      'content-type': 'application/json; charset=utf-8',
      origin: ORIGIN,
    });
    expect(a.status).toBe(201);
    const b = await browserPost('/api/v1/tokens', cookie, '{"name":"b"}', {
      'content-type': 'application/json',
      'sec-fetch-site': 'same-origin',
    });
    expect(b.status).toBe(201);
    expect(await tokenCount(user.token)).toBe(2);
    // Reads are never refused: they change nothing, and CORS keeps their answers from other origins.
    expect((await json('/api/v1/tokens', { headers: { cookie, origin: APP_ORIGIN } })).status).toBe(200);
  });

  it('leaves bearer-token clients alone, whatever origin they claim', async () => {
    const user = await registerUser();
    const r = await call('/api/v1/tokens', {
      method: 'POST',
      token: user.token,
      body: { name: 'cli' },
      headers: { origin: 'https://anything.example' },
    });
    expect(r.status).toBe(201);
  });

  it('refuses a login posted as a form (login CSRF) but takes one from curl with JSON', async () => {
    const user = await registerUser();
    const form = await call('/api/v1/auth/login', {
      method: 'POST',
      raw: `email=${user.email}&password=correct+horse+battery`,
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: APP_ORIGIN },
    });
    expect(form.status).toBe(415);
    expect(form.headers.get('set-cookie')).toBeNull();
    const ok = await call('/api/v1/auth/login', { body: { email: user.email, password: 'correct horse battery' } });
    expect(ok.status).toBe(200);
  });
});

describe('the session cookie', () => {
  it('is host-only; over HTTPS it is __Host-rg_session, and a plain rg_session there counts for nothing', async () => {
    const user = await registerUser();
    const http = await call('/api/v1/auth/login', { body: { email: user.email, password: 'correct horse battery' } });
    expect(http.headers.get('set-cookie')).not.toMatch(/domain=/i);
    const https = await call('/api/v1/auth/login', {
      body: { email: user.email, password: 'correct horse battery' },
      url: 'https://console.example.test',
    });
    const set = https.headers.get('set-cookie')!;
    expect(set).toMatch(/^__Host-rg_session=rgs_[A-Za-z0-9]+; /);
    expect(set).toMatch(/; Path=\//);
    expect(set).toMatch(/; Secure/);
    expect(set).not.toMatch(/domain=/i);
    const token = set.slice('__Host-rg_session='.length, set.indexOf(';'));
    const me = (cookie: string) => json('/api/v1/me', { headers: { cookie }, url: 'https://console.example.test' });
    expect((await me(`__Host-rg_session=${token}`)).status).toBe(200);
    // What a page on `*.example.test` can set for the parent domain is not read on HTTPS.
    expect((await me(`rg_session=${token}`)).status).toBe(401);
  });

  it('trusts neither value when the session cookie arrives twice (one planted by another host)', async () => {
    const [victim, attacker] = [await registerUser(), await registerUser()];
    const r = await json('/api/v1/me', {
      headers: { cookie: `rg_session=${attacker.token}; rg_session=${victim.token}` },
    });
    expect(r.status).toBe(401);
  });
});
