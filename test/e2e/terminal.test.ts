// The browser terminal in Debian's Chromium against the whole stack and a real relay: a shell in a container, resized,
// reattached after a reload with its output replayed, UTF-8/CJK both ways, recorded; another renter's socket is refused.
import { request as httpRequest } from 'node:http';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok, type ApiCall, type ApiResult } from '../../dev/src/json-api.ts';
import { until } from '../../dev/src/until.ts';
import { launchChromium, shot } from './browser.ts';
import { startStack, type Stack } from './stack.ts';

const A = { email: 'term-a@e2e.test', password: 'renter-a-password-0123' };
const B = { email: 'term-b@e2e.test', password: 'renter-b-password-0123' };
const SESSION = 'e2eTerminalSession0001';
/** A shared CI box can be slow to echo: wait up to this long for the screen to show something. */
const POLL = { timeout: 10_000 };

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let envId = '';
const cookies: Record<string, string> = {};
const tokens: Record<string, string> = {};

const sel = (id: string) => `[data-test="${id}"]`;
function api<T>(path: string, init: ApiCall = {}): Promise<ApiResult<T>> {
  return stack.api<T>(`/api/v1${path}`, init);
}

/** Registers a renter and logs in: its API token and its console session cookie (`rg_session=...`). */
async function renter(u: { email: string; password: string }): Promise<void> {
  tokens[u.email] = ok('register', await api<{ token: string }>('/auth/register', { body: u })).token;
  const res = await fetch(`${stack.url}/api/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', origin: stack.url },
    body: JSON.stringify(u),
  });
  expect(res.status).toBe(200);
  cookies[u.email] = res.headers.get('set-cookie')!.split(';')[0]!;
}

/** The terminal's screen as the user sees it (xterm's DOM rows), spaces normalised. xterm draws only while in view. */
async function screen(): Promise<string> {
  const rows = page.locator(`${sel('terminal-screen')} .xterm-rows`);
  await rows.scrollIntoViewIfNeeded();
  return rows.evaluate((el) => (el as HTMLElement).innerText.replace(/\u00a0/g, ' '));
}

async function typeLine(text: string): Promise<void> {
  await page.locator(`${sel('terminal-screen')} .xterm-helper-textarea`).focus();
  await page.keyboard.insertText(text);
  await page.keyboard.press('Enter');
}

async function connected(): Promise<void> {
  await page.locator(`${sel('terminal-state')}[data-state="open"]`).waitFor({ timeout: 30_000 });
}

/** Sends a WebSocket handshake to the terminal endpoint from Node; the status of the answer (101 when it upgraded). */
function handshake(
  headers: Record<string, string>,
  path = `/api/v1/environments/${envId}/terminal?session=${SESSION}`,
) {
  return new Promise<number>((resolve, reject) => {
    const req = httpRequest(`${stack.url}${path}`, {
      headers: {
        connection: 'Upgrade',
        upgrade: 'websocket',
        'sec-websocket-version': '13',
        'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==',
        ...headers,
      },
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolve(res.statusCode ?? 0);
    });
    req.on('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}

beforeAll(async () => {
  stack = await startStack();
  await renter(A);
  await renter(B);
  const images = ok(
    'images',
    await api<{ items: { id: number; name: string }[] }>('/images', { token: tokens[A.email] }),
  );
  const image = images.items.find((i) => i.name === 'stock-ml:demo')!;
  const created = ok(
    'create',
    await api<{ environment: { id: string } }>('/environments', {
      token: tokens[A.email],
      body: { name: 'term-e2e', image_id: image.id, gpu_count: 0, cpu_cores: 1, memory_gb: 1, recording: true },
    }),
  );
  envId = created.environment.id;
  await until(
    'the container to run',
    async () => {
      const r = await api<{ environment: { status: string } }>(`/environments/${envId}`, { token: tokens[A.email] });
      if (r.body.environment.status === 'failed') throw new Error(`create failed: ${JSON.stringify(r.body)}`);
      return r.body.environment.status === 'running';
    },
    { timeout: 90_000, interval: 500 },
  );
  browser = await launchChromium();
  context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'en-US' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
  const [name, value] = cookies[A.email]!.split('=') as [string, string];
  await context.addCookies([{ name, value, url: stack.url }]);
  page = await context.newPage();
  // An error in the console's code shows in the test's output (a blank page says nothing by itself).
  page.on('pageerror', (err) => console.log('page error:', err.stack ?? err.message));
  page.setDefaultTimeout(20_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('the terminal in the browser', () => {
  it('runs a command in a shell in the container', async () => {
    await page.goto(`${stack.url}/environments/${envId}`);
    try {
      await page.click(sel('terminal-open'));
    } catch (err) {
      // What the page showed instead (a run once missed the button; its cause is not known yet).
      await shot(page, '30-terminal-missing');
      console.log('terminal button missing on', page.url(), await page.locator('body').innerText());
      throw err;
    }
    await connected();
    await typeLine('echo $((6*7))');
    await expect.poll(screen, POLL).toMatch(/^42\s*$/m);
    await shot(page, '30-terminal');
  });

  it('follows the window size (stty size)', async () => {
    const sizes = async () =>
      [...(await screen()).matchAll(/^(\d+) (\d+)\s*$/gm)].map((m) => [Number(m[1]), Number(m[2])] as const);
    await typeLine('stty size');
    await expect.poll(async () => (await sizes()).length, POLL).toBe(1);
    await page.setViewportSize({ width: 900, height: 700 });
    await typeLine('stty size');
    await expect.poll(async () => (await sizes()).length, POLL).toBe(2);
    const [[rowsBefore, colsBefore], [rows, cols]] = (await sizes()) as [[number, number], [number, number]];
    expect(cols).toBeLessThan(colsBefore);
    expect(rows).toBeLessThan(rowsBefore);
  });

  it('reattaches to the same shell after a reload, with the earlier output replayed (zh-CN, then English)', async () => {
    await expect(page.locator(sel('terminal-state')).textContent()).resolves.toContain('已连接');
    await typeLine('export RG_MARK=kept-$((40+2)); echo before-reload-$((1+1))');
    await expect.poll(screen, POLL).toContain('before-reload-2');
    await page.evaluate(() => localStorage.setItem('remotegpu.locale', 'en'));
    await page.reload();
    await connected();
    await expect(page.locator(sel('terminal-state')).textContent()).resolves.toContain('Connected');
    await expect.poll(screen, POLL).toContain('before-reload-2');
    await typeLine('echo "mark=$RG_MARK"');
    await expect.poll(screen, POLL).toContain('mark=kept-42');
  });

  it('round-trips UTF-8 and CJK, typed and printed', async () => {
    await typeLine('printf "%s|\\n" 你好世界; printf 中 | od -An -tx1');
    await expect.poll(screen, POLL).toContain('你好世界|');
    await expect.poll(screen, POLL).toMatch(/e4 b8 ad/);
    await shot(page, '31-terminal-cjk');
  });

  it('pastes with Ctrl+Shift+V and copies a selection with the Copy button', async () => {
    await page.evaluate(() => navigator.clipboard.writeText('echo pasted-$((2+3))'));
    await page.locator(`${sel('terminal-screen')} .xterm-helper-textarea`).focus();
    await page.keyboard.press('Control+Shift+V');
    // The clipboard is read asynchronously: Enter goes once the pasted line is on the prompt.
    await expect.poll(screen, POLL).toContain('# echo pasted-$((2+3))');
    await page.keyboard.press('Enter');
    await expect.poll(screen, POLL).toMatch(/^pasted-5\s*$/m);
    const row = page.locator(`${sel('terminal-screen')} .xterm-rows > div`, { hasText: /^pasted-5\s*$/ }).last();
    const box = (await row.boundingBox())!;
    await page.mouse.dblclick(box.x + 12, box.y + box.height / 2);
    await page.click(sel('terminal-copy'));
    await expect.poll(() => page.evaluate(() => navigator.clipboard.readText()), POLL).toBe('pasted-5');
  });

  it('holds another shell in another tab', async () => {
    const tab = await context.newPage();
    try {
      await tab.goto(`${stack.url}/environments/${envId}`);
      await tab.click(sel('terminal-open'));
      await tab.locator(`${sel('terminal-state')}[data-state="open"]`).waitFor({ timeout: 30_000 });
      await tab.locator(`${sel('terminal-screen')} .xterm-helper-textarea`).focus();
      await tab.keyboard.insertText('echo "tab2=${RG_MARK:-unset}"');
      await tab.keyboard.press('Enter');
      const rows = tab.locator(`${sel('terminal-screen')} .xterm-rows`);
      await expect.poll(() => rows.innerText(), POLL).toMatch(/^tab2=unset\s*$/m);
    } finally {
      await tab.close();
    }
    await typeLine('echo "tab1=$RG_MARK"');
    await expect.poll(screen, POLL).toContain('tab1=kept-42');
  });

  it('keeps up with a flood of output (more than the tunnel credit of one stream)', async () => {
    await typeLine('seq 1 800000; echo flood-done-$((1+1))');
    await expect.poll(screen, { timeout: 60_000 }).toMatch(/^flood-done-2\s*$/m);
    await expect.poll(screen).toContain('799999');
  });

  it('reconnects in place when the socket drops (as in a laptop sleep), same shell, output kept', async () => {
    const tab = await context.newPage();
    // Keeps the page's sockets reachable, so that the test can drop one as a network would.
    await tab.addInitScript(() => {
      const Native = window.WebSocket;
      const w = window as unknown as { sockets: WebSocket[] };
      w.sockets = [];
      window.WebSocket = class extends Native {
        constructor(url: string | URL, protocols?: string | string[]) {
          super(url, protocols);
          w.sockets.push(this);
        }
      };
    });
    try {
      await tab.goto(`${stack.url}/environments/${envId}`);
      await tab.click(sel('terminal-open'));
      const open = tab.locator(`${sel('terminal-state')}[data-state="open"]`);
      await open.waitFor({ timeout: 30_000 });
      const text = () => tab.locator(`${sel('terminal-screen')} .xterm-rows`).innerText();
      await tab.locator(`${sel('terminal-screen')} .xterm-helper-textarea`).focus();
      await tab.keyboard.insertText('SLEPT=$((3*3)); echo before-drop');
      await tab.keyboard.press('Enter');
      await expect.poll(text, POLL).toMatch(/^before-drop\s*$/m);
      await tab.evaluate(() => (window as unknown as { sockets: WebSocket[] }).sockets.at(-1)!.close(4000));
      await expect
        .poll(() => tab.evaluate(() => (window as unknown as { sockets: unknown[] }).sockets.length), POLL)
        .toBe(2);
      await open.waitFor({ timeout: 30_000 });
      await expect.poll(text, POLL).toMatch(/^before-drop\s*$/m);
      await tab.locator(`${sel('terminal-screen')} .xterm-helper-textarea`).focus();
      await tab.keyboard.insertText('echo "slept=$SLEPT"');
      await tab.keyboard.press('Enter');
      await expect.poll(text, POLL).toMatch(/^slept=9\s*$/m);
    } finally {
      await tab.close();
    }
  });

  it("refuses renter B's socket to renter A's terminal before any upgrade", async () => {
    const origin = stack.url;
    expect(await handshake({ origin })).toBe(401);
    expect(await handshake({ origin, cookie: cookies[B.email]! })).toBe(404);
    // The owner from another site's page (cross-site WebSocket hijacking) is refused too.
    expect(await handshake({ origin: 'http://evil.example', cookie: cookies[A.email]! })).toBe(403);
  });

  it('ends with exit: the shell is audited as a web login and its recording is listed', async () => {
    await typeLine('exit 3');
    await page.locator(`${sel('terminal-state')}[data-state="exited"]`).waitFor();
    await until(
      'the web login in the audit trail',
      async () =>
        ok(
          'audit',
          await api<{ items: { event: string; detail: { source?: string } | null }[] }>(
            `/audit-events?environment_id=${envId}`,
            { token: tokens[A.email] },
          ),
        ).items.some((e) => e.event === 'ssh_login' && e.detail?.source === 'web'),
      { timeout: 30_000, interval: 500 },
    );
    await until(
      'the recording to arrive',
      async () =>
        ok(
          'recordings',
          await api<{ items: unknown[] }>(`/environments/${envId}/recordings`, { token: tokens[A.email] }),
        ).items.length > 0,
      { timeout: 30_000, interval: 500 },
    );
  });
});
