// The environment page's lifecycle in Debian's Chromium: start without GPU (the badge), the data size, the auto-stop
// banner before a scheduled stop, in zh-CN and English, with screenshots.
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../../dev/src/json-api.ts';
import { loadServices } from '../support/services.ts';
import { launchChromium, shot } from './browser.ts';
import { startStack, type Stack } from './stack.ts';

const RENTER = { email: 'life@e2e.test', password: 'renter-password-0123' };
const sel = (id: string) => `[data-test="${id}"]`;

let stack: Stack;
let browser: Browser;
let page: Page;
let token = '';
let envId = '';

beforeAll(async () => {
  loadServices();
  stack = await startStack();
  token = ok('register', await stack.api<{ token: string }>('/api/v1/auth/register', { body: RENTER })).token;
  const images = ok('images', await stack.api<{ items: { id: number; name: string }[] }>('/api/v1/images', { token }));
  const busybox = images.items.find((i) => i.name === 'busybox:demo')!.id;
  const env = ok(
    'create',
    await stack.api<{ environment: { id: string } }>('/api/v1/environments', {
      token,
      body: { name: 'life-e2e', image_id: busybox, gpu_count: 0, cpu_cores: 2, memory_gb: 2 },
    }),
  );
  envId = env.environment.id;
  ok('stop', await stack.api(`/api/v1/environments/${envId}/stop`, { method: 'POST', token }));
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  page = await context.newPage();
  page.setDefaultTimeout(30_000);
  await page.goto(stack.url);
  await page.waitForURL(/\/login/);
  await page
    .locator(`input${sel('login-email')}, ${sel('login-email')} input`)
    .first()
    .fill(RENTER.email);
  await page
    .locator(`input${sel('login-password')}, ${sel('login-password')} input`)
    .first()
    .fill(RENTER.password);
  await page.click(sel('login-submit'));
  await page.waitForURL(/\/market$/);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('the environment page: data and lifecycle', () => {
  it('starts a stopped environment without GPU and shows the 无卡模式 badge and the data size', async () => {
    await page.click(sel('nav-environments'));
    await page.click(sel(`env-${envId}`));
    await page.locator(sel('environment-page')).getByText('life-e2e').first().waitFor();
    await page.click(sel('act-start-nogpu'));
    await page.locator('.el-message-box').waitFor();
    await page.locator('.el-message-box__btns .el-button--primary').click();
    await page.locator(sel('no-gpu-badge')).waitFor({ timeout: 60_000 });
    await expect(page.locator(sel('no-gpu-badge')).textContent()).resolves.toContain('无卡模式');
    const env = ok(
      'env',
      await stack.api<{ environment: { gpu_mode: string } }>(`/api/v1/environments/${envId}`, { token }),
    );
    expect(env.environment.gpu_mode).toBe('none');
    await expect(page.locator(sel('lifecycle-card')).textContent()).resolves.toContain('数据与生命周期');
    await expect.poll(() => page.locator(sel('data-size')).textContent()).toMatch(/大小: \d/);
    await shot(page, 'life-01-no-gpu-zh');
  }, 120_000);

  it("shows the relay's warning before a scheduled stop, in English too", async () => {
    const at = new Date(Date.now() + 60_000).toISOString();
    ok(
      'auto-stop',
      await stack.api(`/api/v1/environments/${envId}/auto-stop`, {
        method: 'PUT',
        token,
        body: { idle_stop_minutes: null, scheduled_stop_at: at },
      }),
    );
    // The relay checks every 10 s and warns at once for a stop under 5 minutes away; the page polls every 15 s.
    await page.locator(sel('stop-warning')).waitFor({ timeout: 60_000 });
    await expect(page.locator(sel('stop-warning')).textContent()).resolves.toContain('自动关机');
    await shot(page, 'life-02-stop-warning-zh');
    await page.click(sel('lang-switch'));
    await page.locator('.el-select-dropdown__item:visible', { hasText: 'English' }).first().click();
    await expect(page.locator(sel('stop-warning')).textContent()).resolves.toContain('stopped automatically');
    await expect(page.locator(sel('no-gpu-badge')).textContent()).resolves.toContain('No-GPU mode');
    await shot(page, 'life-03-lifecycle-en');
  }, 120_000);
});
