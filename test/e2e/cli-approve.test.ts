// The console's page for `remotegpu login` in Debian's Chromium: the CLI's link leads through the login to its code,
// one click approves it, and the CLI's poll then gets its token.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../../dev/src/json-api.ts';
import { startStack, type Stack } from '../../dev/src/stack.ts';
import { launchChromium, shot } from './browser.ts';

const RENTER = { email: 'cli-renter@e2e.test', password: 'renter-password-0123' };
const sel = (id: string) => `[data-test="${id}"]`;

let stack: Stack;
let browser: Browser;
let page: Page;

beforeAll(async () => {
  stack = await startStack();
  ok('register', await stack.api('/api/v1/auth/register', { body: RENTER }));
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('the CLI approval page', () => {
  it('shows the code after the login, approves it, and the CLI gets a token named for its host', async () => {
    const codes = ok(
      'device codes',
      await stack.api<{ device_code: string; user_code: string; verification_url: string }>(
        '/api/v1/cli/device-codes',
        { body: { client_name: 'renter-laptop' } },
      ),
    );
    const poll = () =>
      stack.api<{ token?: string; token_name?: string; error?: { code: string } }>('/api/v1/cli/device-codes/token', {
        body: { device_code: codes.device_code },
      });
    expect((await poll()).status).toBe(428);

    await page.goto(codes.verification_url);
    await page.waitForURL(/\/login\?next=/);
    await page
      .locator(`input${sel('login-email')}, ${sel('login-email')} input`)
      .first()
      .fill(RENTER.email);
    await page
      .locator(`input${sel('login-password')}, ${sel('login-password')} input`)
      .first()
      .fill(RENTER.password);
    await page.click(sel('login-submit'));
    await page.waitForURL(/\/cli\/approve\?code=/);
    const code = page.locator(`input${sel('cli-approve-code')}, ${sel('cli-approve-code')} input`).first();
    expect(await code.inputValue()).toBe(codes.user_code);
    expect(await page.textContent(sel('cli-approve'))).toContain('确认命令行登录');
    await shot(page, 'cli-approve');

    await page.click(sel('cli-approve-submit'));
    await expect
      .poll(async () => (await page.locator(sel('cli-approve-done')).textContent()) ?? '')
      .toContain('renter-laptop');
    const got = await poll();
    expect(got.status).toBe(200);
    expect(got.body.token_name).toBe('cli on renter-laptop');
    expect((await stack.api('/api/v1/me', { token: got.body.token! })).status).toBe(200);
  });
});
