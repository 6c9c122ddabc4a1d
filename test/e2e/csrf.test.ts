// A renter's public app page, same-site with the console (`*.container.remotegpu.test` beside
// `console.remotegpu.test`), tries to act as a logged-in visitor in Debian's Chromium: a form POST, no-cors
// fetches and a planted session cookie. Nothing changes, and the console never runs as the attacker.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser.ts';
import { ok, type ApiCall, type ApiResult } from '../../dev/src/json-api.ts';
import { startStack, type Stack } from './stack.ts';

const DOMAIN = 'remotegpu.test';
/** Where the attacker's app listens: a loopback "physical machine" the attacker rents (apps need no SSH). */
const APP_IP = '127.0.0.5';

let stack: Stack;
let browser: Browser;
let page: Page;
let appServer: Server;
let attackerSession = '';
let victim: { email: string; password: string; token: string };
let attackerEnv = '';
let appPort = 0;

/** The stack's JSON API helper, under /api/v1. */
function api<T>(path: string, init: ApiCall = {}): Promise<ApiResult<T>> {
  return stack.api<T>(`/api/v1${path}`, init);
}

async function register(email: string, password: string): Promise<string> {
  const r = await api<{ token: string }>('/auth/register', { body: { email, password } });
  if (r.status !== 201) throw new Error(`register ${email}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body.token;
}

/** The attack page: written as any renter could, served by the attacker's own app. */
function attackPage(consoleUrl: string): string {
  const api = `${consoleUrl}/api/v1`;
  return `<!doctype html><title>cat pictures</title>
<form id="f" method="POST" enctype="text/plain" action="${api}/tokens"><input name='{"name":"csrf-form","x":"' value='"}'></form>
<script>
const post = (path, type, body, method = 'POST') =>
  fetch('${api}' + path, { method, mode: 'no-cors', credentials: 'include', headers: { 'content-type': type }, body });
window.attack = async () => {
  await post('/tokens', 'text/plain', '{"name":"csrf-fetch"}');
  await post('/tokens', 'application/x-www-form-urlencoded', 'name=csrf-urlencoded');
  await post('/auth/logout', 'text/plain', '');
  return 'sent';
};
window.plant = (session) => { document.cookie = 'rg_session=' + session + '; domain=${DOMAIN}; path=/api/v1'; };
</script>`;
}

beforeAll(async () => {
  stack = await startStack({ domain: DOMAIN, consoleHost: `console.${DOMAIN}` });
  appServer = createServer((_req, res) => {
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(attackPage(stack.consoleUrl));
  });
  await new Promise<void>((r) => appServer.listen(0, APP_IP, () => r()));
  appPort = (appServer.address() as AddressInfo).port;

  const attackerToken = await register('attacker@csrf.test', 'attacker-password-0123');
  attackerSession = attackerToken;
  victim = { email: 'victim@csrf.test', password: 'victim-password-0123', token: '' };
  victim.token = await register(victim.email, victim.password);
  const machine = ok(
    'add machine',
    await api<{ machine: { id: number } }>('/admin/machines', {
      token: await stack.admin(),
      body: {
        name: 'attacker-box',
        region: 'lo',
        gpu_model: 'none',
        gpu_count: 1,
        gpu_memory: 1,
        cpu_cores: 1,
        memory_gb: 1,
        disk_gb: 1,
        target_ip: APP_IP,
        ssh_port: 22,
        host_id: stack.hostId,
        monthly_price: 1,
      },
    }),
  );
  const env = await api<{ environment: { id: string } }>(`/market/machines/${machine.machine.id}/allocate`, {
    token: attackerToken,
    body: {},
  });
  if (env.status !== 201) throw new Error(`allocate: ${env.status} ${JSON.stringify(env.body)}`);
  attackerEnv = env.body.environment.id;
  const shared = await api(`/environments/${attackerEnv}/apps/${appPort}`, {
    method: 'PUT',
    token: attackerToken,
    body: { public: true },
  });
  if (shared.status !== 200) throw new Error(`make public: ${shared.status}`);

  browser = await launchChromium([`--host-resolver-rules=MAP *.${DOMAIN} 127.0.0.1`]);
  page = await (await browser.newContext({ locale: 'en-US' })).newPage();
  page.setDefaultTimeout(20_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  await new Promise((r) => appServer?.close(r));
}, 60_000);

/** Who the browser is logged in as on the console: `GET /api/v1/me` opened as a page, with the browser's cookies. */
async function consoleMe(): Promise<{ status: number; email: string | null }> {
  const r = await page.goto(`${stack.consoleUrl}/api/v1/me`);
  const body = (await r!.json().catch(() => null)) as { user?: { email: string } } | null;
  return { status: r!.status(), email: body?.user?.email ?? null };
}

describe('a renter app page against a logged-in visitor', () => {
  it('changes nothing with a form POST and no-cors fetches', async () => {
    await page.goto(`${stack.consoleUrl}/login`);
    await page.locator('[data-test="login-email"] input, input[data-test="login-email"]').first().fill(victim.email);
    await page
      .locator('[data-test="login-password"] input, input[data-test="login-password"]')
      .first()
      .fill(victim.password);
    await page.click('[data-test="login-submit"]');
    await page.waitForURL(/\/market$/);
    expect(await consoleMe()).toEqual({ status: 200, email: victim.email });
    const tokensBefore = (await api<{ items: unknown[] }>('/tokens', { token: victim.token })).body.items.length;

    const appUrl = `http://${attackerEnv}-${appPort}.container.${DOMAIN}:${stack.port}/`;
    const landed = await page.goto(appUrl);
    expect(landed?.status()).toBe(200);
    expect(await page.title()).toBe('cat pictures');
    expect(await page.evaluate(() => (window as unknown as { attack(): Promise<string> }).attack())).toBe('sent');
    // The form navigates the top-level page to the console API: the answer is the refusal, not a token.
    const [answer] = await Promise.all([
      page.waitForResponse(
        (r) =>
          r.url().endsWith('/api/v1/tokens') &&
          r.request().method() === 'POST' &&
          r.request().resourceType() === 'document',
      ),
      page.evaluate(() => (document.getElementById('f') as HTMLFormElement).submit()),
    ]);
    expect(answer.status()).toBe(415);
    expect(await answer.json()).toMatchObject({ error: { code: 'unsupported_media_type' } });

    const tokens = await api<{ items: { name: string }[] }>('/tokens', { token: victim.token });
    expect(tokens.body.items.length).toBe(tokensBefore);
    expect(await consoleMe()).toEqual({ status: 200, email: victim.email }); // the no-cors logout did not log out
  });

  it("never runs the console as the attacker when a page plants the attacker's session cookie", async () => {
    await page.goto(`http://${attackerEnv}-${appPort}.container.${DOMAIN}:${stack.port}/`);
    await page.evaluate((s) => (window as unknown as { plant(s: string): void }).plant(s), attackerSession);
    const me = await consoleMe();
    expect(me.email).not.toBe('attacker@csrf.test');
    expect(me.status).toBe(401); // two session cookies: neither is trusted, the visitor logs in again
  });
});
