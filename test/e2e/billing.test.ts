// The console's money pages in Chromium: balance and ledger with its CSV, usage by day, a webhook (secret shown once,
// test delivery in the log) and a read-only API token; in zh-CN, then in English.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../../dev/src/json-api.ts';
import { launchChromium, shot } from './browser.ts';
import { startStack, type Stack } from './stack.ts';

const RENTER = { email: 'money@e2e.test', password: 'money-password-0123' };
let stack: Stack;
let browser: Browser;
let page: Page;
const sel = (id: string) => `[data-test="${id}"]`;
const field = (id: string) => page.locator(`input${sel(id)}, ${sel(id)} input`).first();

beforeAll(async () => {
  stack = await startStack();
  ok('register', await stack.api('/api/v1/auth/register', { body: RENTER }));
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'zh-CN' });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${stack.url}/login`);
  await field('login-email').fill(RENTER.email);
  await field('login-password').fill(RENTER.password);
  await page.click(sel('login-submit'));
  await page.waitForURL(/\/market$/);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('money in the console', () => {
  it('shows the balance and the ledger, and exports it as CSV', async () => {
    await page.click(sel('nav-billing'));
    await page.waitForURL(/\/billing$/);
    await expect.poll(() => page.locator(sel('balance')).textContent()).toContain('10,000,000.00');
    const row = page.locator(`${sel('ledger')} .el-table__row`).first();
    await expect.poll(() => row.textContent()).toContain('充值');
    await expect(row.textContent()).resolves.toContain('sign-up credit');
    await shot(page, 'billing');
    const href = (await page.locator(sel('ledger-csv')).getAttribute('href')) ?? '';
    expect(href).toContain('format=csv');
    const csv = await page.evaluate(async (url) => (await fetch(url)).text(), href);
    expect(csv.split('\r\n')[1]).toContain('"credit","10000000.00"');
  });

  it('adds a webhook (secret once), sends a test and shows it in the delivery log', async () => {
    await page.click(sel('nav-webhooks'));
    await page.click(sel('add-webhook'));
    await field('webhook-url').fill(`${stack.url}/no-receiver-here`);
    await page.click(sel('webhook-submit'));
    await expect(page.locator(sel('webhook-secret')).textContent()).resolves.toMatch(/^whsec_/);
    await page.locator('.el-dialog__footer .el-button', { hasText: '完成' }).click();
    await page.locator('.el-table__row .el-button', { hasText: '发送测试' }).first().click();
    const log = page.locator(`${sel('deliveries')} .el-table__row`).first();
    await expect.poll(() => log.textContent()).toContain('webhook.test');
    await shot(page, 'webhooks');
  });

  it('makes a read-only API token and lists its scope, in English too', async () => {
    await page.keyboard.press('Escape');
    await page.click(sel('nav-tokens'));
    await page.click(sel('create-token'));
    await field('token-name').fill('ci-read');
    await page.locator(`${sel('token-scopes')} .el-checkbox`, { hasText: '只读' }).click();
    await page.click(sel('token-submit'));
    await expect(page.locator(sel('new-token')).textContent()).resolves.toMatch(/^rgt_/);
    await page.locator('.el-dialog__footer .el-button', { hasText: '完成' }).click();
    await expect.poll(() => page.locator('.el-table__row', { hasText: 'ci-read' }).textContent()).toContain('只读');
    const tokens = ok(
      'tokens',
      await stack.api<{ items: { name: string; scopes: string[] | null }[] }>('/api/v1/tokens', {
        token: ok('login', await stack.api<{ token: string }>('/api/v1/auth/login', { body: RENTER })).token,
      }),
    );
    expect(tokens.items.find((x) => x.name === 'ci-read')?.scopes).toEqual(['read']);
    await page.click(sel('lang-switch'));
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'English' }).first().click();
    await expect
      .poll(() => page.locator('.el-table__row', { hasText: 'ci-read' }).textContent())
      .toContain('Read-only');
    await page.click(sel('nav-billing'));
    await expect
      .poll(() =>
        page
          .locator(`${sel('ledger')} .el-table__row`)
          .first()
          .textContent(),
      )
      .toContain('Credit');
    await expect(page.locator(sel('ledger-csv')).textContent()).resolves.toContain('Export CSV');
  });
});
