// The console with a local fleet (3 fake GPU hosts in network namespaces): the admin's fleet page lists them with their
// GPUs, a lost host shows offline with its reason; the market shows the container GPUs, the create form their models.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../../dev/src/fleet.ts';
import { until } from '../../dev/src/until.ts';
import { loadServices } from '../support/services.ts';
import { launchChromium, shot } from './browser.ts';
import { ADMIN, startStack, type Stack } from './stack.ts';

const sel = (id: string) => `[data-test="${id}"]`;

let stack: Stack;
let fleet: Fleet;
let browser: Browser;
let page: Page;
const dir = mkdtempSync(join(tmpdir(), 'fleet-e2e-'));

beforeAll(async () => {
  stack = await startStack();
  fleet = await startFleet(stack, {
    netId: 28,
    portBase: 26400,
    hosts: [
      [{ model: 'NVIDIA GeForce RTX 4090', count: 2 }],
      [{ model: 'NVIDIA H100 80GB HBM3', count: 8 }],
      [{ model: 'NVIDIA L40S', count: 4 }],
    ],
    stateDir: dir,
    docker: loadServices().dockerHost,
    logLevel: 'warn',
    stdio: ['ignore', 'ignore', 'ignore'],
  });
  await fleet.ready();
  browser = await launchChromium();
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, locale: 'en-US' });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
  await page.goto(`${stack.url}/login`);
  await page
    .locator(`input${sel('login-email')}, ${sel('login-email')} input`)
    .first()
    .fill(ADMIN.email);
  await page
    .locator(`input${sel('login-password')}, ${sel('login-password')} input`)
    .first()
    .fill(ADMIN.password);
  await page.click(sel('login-submit'));
  await page.waitForURL(/\/market$/);
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await fleet?.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('the fleet in the console', () => {
  it('the market lists the container GPUs each host offers', async () => {
    await page.locator(sel('market-gpus')).waitFor();
    await expect(page.locator(sel('gpus-gpu-host-2')).textContent()).resolves.toBe('8 / 8');
    await shot(page, '30-market-container-gpus');
  });

  it("the admin's fleet page shows every host with its GPUs, and a lost one offline with the reason", async () => {
    await page.click(sel('nav-admin-fleet'));
    for (const r of fleet.relays) await page.locator(sel(`fleet-${r.name}`)).waitFor();
    const table = page.locator(sel('fleet-table'));
    // zh-CN by default: "8 空闲 / 0 已用".
    await expect(table.textContent()).resolves.toMatch(/NVIDIA H100 80GB HBM3: 8 \S+ \/ 0 \S+/);
    await shot(page, '31-admin-fleet');
    fleet.relays[2]!.kill();
    // The page refreshes itself every 5 s.
    await until(
      'the lost host on the fleet page',
      async () => (await page.locator(sel('fleet-reason-gpu-host-3')).count()) > 0,
      { timeout: 15_000 },
    );
    await shot(page, '32-admin-fleet-host-lost');
  });
});
