// The console end to end in Debian's Chromium: a renter registers, rents a machine, creates a container, reads its
// login, copies the ssh command, opens Jupyter, watches the charts and switches language; an admin sees the hosts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { loadServices } from '../support/services.ts';
import { launchChromium, shot } from './browser.ts';
import { ADMIN, startStack, type Stack } from './stack.ts';

const RENTER = { email: 'renter@e2e.test', password: 'renter-password-0123' };
const WIDE = { width: 1280, height: 860 };

let stack: Stack;
let browser: Browser;
let context: BrowserContext;
let page: Page;
let envId = '';

const sel = (id: string) => `[data-test="${id}"]`;
/** The text box of an Element Plus input: the attribute lands on the <input> itself or on its wrapper. */
const field = (id: string) => page.locator(`input${sel(id)}, ${sel(id)} input`).first();

async function pickOption(selectTestId: string, label: string): Promise<void> {
  await page.click(sel(selectTestId));
  await page.locator('.el-select-dropdown__item:visible', { hasText: label }).first().click();
}

async function fillNumber(testId: string, value: number): Promise<void> {
  const input = field(testId);
  await input.fill(String(value));
  await input.press('Tab');
}

async function logInAs(user: { email: string; password: string }): Promise<void> {
  await field('login-email').fill(user.email);
  await field('login-password').fill(user.password);
  await page.click(sel('login-submit'));
  await page.waitForURL(/\/market$/);
}

async function confirmBox(): Promise<void> {
  await page.locator('.el-message-box__btns .el-button--primary').click();
}

/** Non-transparent pixels drawn on the chart's canvas. */
function paintedPixels(testId: string): Promise<number> {
  return page.$eval(`${sel(testId)} canvas`, (c) => {
    const canvas = c as HTMLCanvasElement;
    const data = canvas.getContext('2d')?.getImageData(0, 0, canvas.width, canvas.height).data;
    let n = 0;
    if (data) for (let i = 3; i < data.length; i += 4) if (data[i]! > 0) n++;
    return n;
  });
}

beforeAll(async () => {
  loadServices();
  stack = await startStack();
  browser = await launchChromium();
  context = await browser.newContext({ viewport: WIDE, locale: 'zh-CN' });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: stack.url });
  page = await context.newPage();
  page.setDefaultTimeout(20_000);
}, 180_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
}, 60_000);

describe('the console', () => {
  // One story told in order: after a failed step the rest would only time out.
  let broken = false;
  beforeEach((ctx) => {
    if (broken) ctx.skip();
  });
  afterEach((ctx) => {
    if (ctx.task.result?.state === 'fail') broken = true;
  });

  it('registers a renter from the login page (zh-CN by default)', async () => {
    await page.goto(stack.url);
    await page.waitForURL(/\/login/);
    await expect(page.locator(sel('login-submit')).textContent()).resolves.toContain('登录');
    await shot(page, '01-login');
    await page.click(sel('login-toggle'));
    await logInAs(RENTER);
    await expect(page.locator(sel('user-email')).textContent()).resolves.toBe(RENTER.email);
  });

  it('rents a machine from the market and shows its login', async () => {
    await page.locator('.machine').first().waitFor();
    await expect(page.locator('.machine').count()).resolves.toBe(3);
    await expect(page.locator('.machine', { hasText: '北京B区-598机' }).textContent()).resolves.toContain(
      'RTX 5090 × 2',
    );
    await shot(page, '02-market');
    await pickOption('filter-region', '上海A区');
    await expect.poll(() => page.locator('.machine').count()).toBe(1);
    await pickOption('filter-region', '北京B区');
    await expect.poll(() => page.locator('.machine').count()).toBe(2);

    await page.locator('.machine', { hasText: '北京B区-598机' }).locator(sel('rent')).click();
    await page.click(sel('rent-confirm'));
    const info = page.locator(`${sel('rent-dialog')} ${sel('login-info')}`);
    await info.waitFor();
    // The e2e relay hands out ports from its --ssh-ports 24000-24999 (test/e2e/stack.ts).
    await expect(info.locator(sel('ssh-port')).textContent()).resolves.toMatch(/^24\d{3}$/);
    await expect(info.textContent()).resolves.toContain('连接主机');
    await shot(page, '03-market-rented');
    await page.click(sel('rent-done'));
    await expect
      .poll(() => page.locator('.machine', { hasText: '北京B区-598机' }).locator(sel('rent')).isDisabled())
      .toBe(true);
  });

  it('creates a container environment and follows it until running', async () => {
    await page.click(sel('nav-environments'));
    await page.waitForURL(/\/environments$/);
    await page.locator(sel('env-table')).getByText('物理机').waitFor();
    await page.click(sel('create-env'));
    await field('create-name').fill('e2e-busybox');
    await pickOption('create-image', 'busybox:demo');
    await fillNumber('create-cpus', 1);
    await fillNumber('create-memory', 1);
    // The local host has no GPU: asking for one is refused with a clear message, and the form stays.
    await fillNumber('create-gpus', 1);
    await page.click(sel('create-submit'));
    await expect(page.locator(sel('create-error')).textContent()).resolves.toMatch(/no_capacity|GPU/i);
    await shot(page, '04-create-refused');
    await fillNumber('create-gpus', 0);
    await page.click(sel('create-submit'));
    await page
      .locator(`${sel('create-ready')}, ${sel('create-failed')}, ${sel('create-error')}`)
      .first()
      .waitFor({ timeout: 90_000 });
    const failed = await page.locator(`${sel('create-failed')}, ${sel('create-error')}`).count();
    if (failed) throw new Error(`create failed: ${await page.locator(sel('create-dialog')).textContent()}`);
    await shot(page, '05-create-running');
    await page.keyboard.press('Escape');
    const row = page.locator(`${sel('env-table')} .el-table__row`, { hasText: 'e2e-busybox' });
    await expect(row.textContent()).resolves.toContain('容器');
    envId = (await row.locator('a[data-test^="env-"]').getAttribute('data-test'))!.slice(4);
    await shot(page, '06-environments');
  });

  it('shows the login block, copies the ssh command and opens the Jupyter link', async () => {
    await page.click(sel(`env-${envId}`));
    await page.waitForURL(new RegExp(`/environments/${envId}$`));
    const info = page.locator(sel('login-info'));
    await info.waitFor();
    for (const label of ['连接主机', '端口', '用户名', '密码'])
      await expect(info.textContent()).resolves.toContain(label);
    await expect(page.locator(sel('ssh-password')).textContent()).resolves.not.toMatch(/[A-Za-z0-9]{32}/);
    await page.click(sel('reveal-password'));
    await expect(page.locator(sel('ssh-password')).textContent()).resolves.toMatch(/^[A-Za-z0-9]{32}$/);

    const access = (await page.evaluate(
      async (id) => (await fetch(`/api/v1/environments/${id}/access`)).json(),
      envId,
    )) as {
      ssh_host: string;
      ssh_port: number;
      jupyter_url: string;
    };
    await page.locator(`${sel('copy-ssh-command')} button`).click();
    const copied = await page.evaluate(() => navigator.clipboard.readText());
    expect(copied).toBe(`ssh -p ${access.ssh_port} root@${access.ssh_host}`);
    await expect(page.locator(sel('ssh-config')).textContent()).resolves.toContain(`Port ${access.ssh_port}`);
    await shot(page, '07-environment');

    // The login works: the copied command with the revealed password starts a web server on Jupyter's port.
    const password = (await page.locator(sel('ssh-password')).textContent())!;
    const [, port, user, host] = /^ssh -p (\d+) (\w+)@(\S+)$/.exec(copied)!;
    execFileSync(
      'sshpass',
      [
        '-e',
        'ssh',
        '-F',
        '/dev/null',
        '-o',
        'StrictHostKeyChecking=no',
        '-o',
        'UserKnownHostsFile=/dev/null',
        '-o',
        'LogLevel=ERROR',
        '-p',
        port!,
        `${user}@${host}`,
        "mkdir -p /www && echo 'hello from e2e-busybox' > /www/index.html && httpd -p 8888 -h /www",
      ],
      { env: { ...process.env, SSHPASS: password }, timeout: 30_000, stdio: ['ignore', 'pipe', 'pipe'] },
    );

    const [tab] = await Promise.all([context.waitForEvent('page'), page.click(sel('jupyter-link'))]);
    await tab.waitForURL((u) => u.hostname !== '' && u.href !== 'about:blank', { timeout: 20_000 });
    expect(new URL(tab.url()).hostname).toBe(`${envId}-8888.container.localhost`);
    expect(new URL(tab.url()).hostname).toBe(new URL(access.jupyter_url).hostname);
    await expect.poll(() => tab.locator('body').textContent(), { timeout: 15_000 }).toContain('hello from e2e-busybox');
    await shot(tab, '08-jupyter-app');
    await tab.close();

    // Reset password: confirmed first, then the new one is shown in place of the old.
    await page.click(sel('act-rotate'));
    await confirmBox();
    await expect.poll(() => page.locator(sel('ssh-password')).textContent()).not.toBe(password);
    await expect(page.locator(sel('ssh-password')).textContent()).resolves.toMatch(/^[A-Za-z0-9]{32}$/);
  });

  it('draws the metrics charts once the agent reports', async () => {
    const points = () => page.locator(sel('chart-cpu')).getAttribute('data-points').then(Number);
    // The agent samples every 10 s and the panel polls every 5 s.
    await expect.poll(points, { timeout: 90_000, interval: 1000 }).toBeGreaterThanOrEqual(2);
    await expect(page.locator(sel('metrics-waiting')).count()).resolves.toBe(0);
    for (const chart of ['chart-gpu', 'chart-cpu', 'chart-memory', 'chart-network']) {
      expect(await paintedPixels(chart)).toBeGreaterThan(500);
    }
    await page.locator(sel('metrics-panel')).scrollIntoViewIfNeeded();
    await shot(page, '09-monitoring');
  });

  it('switches the language to English and back, remembered across reloads', async () => {
    await pickOption('lang-switch', 'English');
    await expect.poll(() => page.locator(sel('nav-environments')).textContent()).toBe('Environments');
    await page.reload();
    await expect.poll(() => page.locator(sel('nav-environments')).textContent()).toBe('Environments');
    await page.locator(sel('login-info')).waitFor();
    await expect(page.locator(sel('login-info')).textContent()).resolves.toContain('Host');
    await shot(page, '10-environment-english');
    await pickOption('lang-switch', '简体中文');
    await expect.poll(() => page.locator(sel('nav-environments')).textContent()).toBe('环境管理');
    await page.reload();
    await expect.poll(() => page.locator(sel('nav-environments')).textContent()).toBe('环境管理');
  });

  it('manages SSH keys and API tokens, and shows usage and the audit log', async () => {
    await page.click(sel('nav-ssh-keys'));
    await page.locator(sel('state-empty')).waitFor();
    await shot(page, '11-ssh-keys-empty');
    await page.click(sel('add-key'));
    await field('key-name').fill('e2e laptop');
    await page
      .locator(`textarea${sel('key-public')}, ${sel('key-public')} textarea`)
      .first()
      .fill(readFileSync(`${loadServices().testKey}.pub`, 'utf8').trim());
    await page.click(sel('key-submit'));
    await page.locator('.el-table__row', { hasText: 'e2e laptop' }).waitFor();
    await shot(page, '12-ssh-keys');

    await page.click(sel('nav-tokens'));
    await page.click(sel('create-token'));
    await field('token-name').fill('ci');
    await page.click(sel('token-submit'));
    await expect(page.locator(sel('new-token')).textContent()).resolves.toMatch(/^rgt_/);
    await shot(page, '13-tokens');
    await page.keyboard.press('Escape');

    await page.click(sel('nav-usage'));
    await expect.poll(() => page.locator('.el-table__row').count()).toBeGreaterThanOrEqual(2);
    await shot(page, '14-usage');

    await page.click(sel('nav-audit'));
    const login = page.locator(`${sel('audit-table')} .el-table__row`, { hasText: 'register' });
    await login.first().waitFor();
    await expect(login.first().textContent()).resolves.toContain('127.0.0.1');
    // The SSH login made above through the relay is there too, with its source address and status.
    const ssh = page.locator(`${sel('audit-table')} .el-table__row`, { hasText: 'ssh_login' }).first();
    await expect(ssh.textContent()).resolves.toContain(envId);
    await expect(ssh.locator('[data-status]').getAttribute('data-status')).resolves.toBe('success');
    await shot(page, '15-audit');
  });

  it('is usable at phone width', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    await page.click(sel('menu-button'));
    await page.locator(`.nav-drawer ${sel('nav-market')}`).click();
    await page.locator('.machine').first().waitFor();
    await shot(page, '16-phone-market');
    await page.goto(`${stack.url}/environments/${envId}`);
    await page.locator(sel('login-info')).waitFor();
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow).toBeLessThanOrEqual(1);
    await shot(page, '17-phone-environment');
    await page.click(sel('menu-button'));
    await shot(page, '18-phone-menu');
    await page.keyboard.press('Escape');
    await page.setViewportSize(WIDE);
  });

  it('deletes the container after a confirmation', async () => {
    await page.goto(`${stack.url}/environments`);
    const row = page.locator(`${sel('env-table')} .el-table__row`, { hasText: 'e2e-busybox' });
    await row.locator(sel('act-delete')).click();
    await confirmBox();
    await expect.poll(() => row.count(), { timeout: 30_000 }).toBe(0);
  });

  it('shows the admin pages: hosts with the install command, machines, images, users', async () => {
    await page.click(sel('logout'));
    await page.waitForURL(/\/login/);
    await logInAs(ADMIN);
    await page.click(sel('nav-admin-hosts'));
    const local = page.locator(`${sel('hosts-table')} .el-table__row`, { hasText: 'local' });
    await expect(local.locator('[data-status]').first().getAttribute('data-status')).resolves.toBe('online');
    await shot(page, '19-admin-hosts');
    await page.click(sel('add-host'));
    await field('host-name').fill('gpu-e2e');
    await field('host-public').fill('gpu-e2e.example.test');
    await page.click(sel('host-submit'));
    await expect(page.locator(sel('install-command')).textContent()).resolves.toContain(
      `npx @remotegpu/relay-agent --edge ${stack.url} --token rgh_`,
    );
    await shot(page, '20-admin-add-host');
    await page.keyboard.press('Escape');
    for (const [nav, name, text] of [
      ['machines', '21-admin-machines', '北京B区-598机'],
      ['images', '22-admin-images', 'remotegpu/busybox:latest'],
      ['users', '23-admin-users', RENTER.email],
    ] as const) {
      await page.click(sel(`nav-admin-${nav}`));
      await page.locator('.el-table__row', { hasText: text }).first().waitFor();
      await shot(page, name);
    }
  });

  it('removes a machine from the pool, but not one that is rented', async () => {
    await page.click(sel('nav-admin-machines'));
    const rented = page.locator('.el-table__row', { hasText: '北京B区-598机' });
    await expect(rented.locator(sel('machine-delete')).isDisabled()).resolves.toBe(true);
    const free = page.locator('.el-table__row', { hasText: '上海A区-017机' });
    await free.locator(sel('machine-delete')).click();
    await confirmBox();
    await expect.poll(() => free.count(), { timeout: 15_000 }).toBe(0);
    await expect(rented.count()).resolves.toBe(1);
    await shot(page, '24-admin-machine-removed');
  });
});
