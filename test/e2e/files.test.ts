// The console's Files and Connect panels in Debian's Chromium: a 32 MiB upload and download through the browser on an exec
// container (busybox: the relay brings sftp-server) and on a container with its own sshd and sftp-server, checked by sha256
// inside the environment and of the downloaded file; renter B's session gets 404; the VS Code button names the alias.
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ok } from '../../dev/src/json-api.ts';
import { docker, loadServices } from '../support/services.ts';
import { launchChromium, shot } from './browser.ts';
import { startStack, type Stack } from './stack.ts';

const MiB = 1024 * 1024;
const A = { email: 'files-a@e2e.test', password: 'renter-password-a-0123' };
const B = { email: 'files-b@e2e.test', password: 'renter-password-b-0123' };
const sel = (id: string) => `[data-test="${id}"]`;
const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

let stack: Stack;
let browser: Browser;
const dir = mkdtempSync(join(tmpdir(), 'e2e-files-'));
const envs: Record<'box' | 'sshd', { id: string; container: string }> = {
  box: { id: '', container: '' },
  sshd: { id: '', container: '' },
};

async function register(user: typeof A): Promise<string> {
  return ok('register', await stack.api<{ token: string }>('/api/v1/auth/register', { body: user })).token;
}

async function pageAs(user: typeof A): Promise<Page> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 }, locale: 'zh-CN' });
  const page = await context.newPage();
  page.setDefaultTimeout(60_000);
  await page.goto(`${stack.url}/login`);
  await page
    .locator(`input${sel('login-email')}, ${sel('login-email')} input`)
    .first()
    .fill(user.email);
  await page
    .locator(`input${sel('login-password')}, ${sel('login-password')} input`)
    .first()
    .fill(user.password);
  await page.click(sel('login-submit'));
  await page.waitForURL(/\/market$/).catch(async (err: unknown) => {
    await shot(page, `files-login-failed-${user.email}`);
    throw err;
  });
  return page;
}

beforeAll(async () => {
  loadServices();
  stack = await startStack();
  browser = await launchChromium();
  const a = await register(A);
  await register(B);
  const images = ok(
    'images',
    await stack.api<{ items: { id: number; name: string }[] }>('/api/v1/images', { token: a }),
  );
  const create = async (name: string, image: string) => {
    const res = await stack.api<{ environment: { id: string; status: string; container_id: string } }>(
      '/api/v1/environments',
      {
        token: a,
        body: {
          name,
          image_id: images.items.find((i) => i.name === image)!.id,
          gpu_count: 0,
          cpu_cores: 1,
          memory_gb: 1,
        },
      },
    );
    expect(res.body.environment.status).toBe('running');
    return { id: res.body.environment.id, container: res.body.environment.container_id };
  };
  envs.box = await create('files-box', 'busybox:demo');
  envs.sshd = await create('Train Box', 'ubuntu-sshd:demo');
}, 240_000);

afterAll(async () => {
  await browser?.close();
  await stack?.close();
  rmSync(dir, { recursive: true, force: true });
}, 60_000);

describe('files and connect in the console', () => {
  let page: Page;

  for (const kind of ['box', 'sshd'] as const) {
    it(`uploads and downloads 32 MiB intact through the browser (${kind === 'box' ? 'exec container, the relay’s sftp-server' : 'container with its own sftp-server'})`, async () => {
      page ??= await pageAs(A);
      const { id, container } = envs[kind];
      const data = randomBytes(32 * MiB);
      const name = `upload-${kind}.bin`;
      writeFileSync(join(dir, name), data);
      await page.goto(`${stack.url}/environments/${id}`);
      const panel = page.locator(sel('files-panel'));
      await panel.waitFor();
      await panel
        .locator(`input${sel('upload-dir')}, ${sel('upload-dir')} input`)
        .first()
        .fill('/root');
      await panel.locator(sel('upload-input')).setInputFiles(join(dir, name));
      await panel.locator(sel('upload-button')).click();
      await panel.locator(`${sel('upload-progress')}[data-state="done"]`).waitFor();
      await expect(
        panel.locator(`${sel('upload-progress')} [role="progressbar"]`).getAttribute('aria-valuenow'),
      ).resolves.toBe('100');
      const inside = await docker(['exec', container, 'sha256sum', `/root/${name}`]);
      expect(inside.split(/\s+/)[0]).toBe(sha256(data));

      await panel
        .locator(`input${sel('download-path')}, ${sel('download-path')} input`)
        .first()
        .fill(`/root/${name}`);
      const [download] = await Promise.all([
        page.waitForEvent('download'),
        panel.locator(sel('download-button')).click(),
      ]);
      expect(download.suggestedFilename()).toBe(name);
      const saved = join(dir, `saved-${name}`);
      await download.saveAs(saved);
      expect(sha256(readFileSync(saved))).toBe(sha256(data));
      await expect(
        panel
          .locator(`${sel('download-progress')}[data-state="done"] [role="progressbar"]`)
          .getAttribute('aria-valuenow'),
      ).resolves.toBe('100');
      await shot(page, `files-${kind}`);
    }, 180_000);
  }

  it('shows a missing file as a failed download with the API’s message', async () => {
    const panel = page.locator(sel('files-panel'));
    await panel
      .locator(`input${sel('download-path')}, ${sel('download-path')} input`)
      .first()
      .fill('/root/nope.bin');
    await panel.locator(sel('download-button')).click();
    await panel.locator(`${sel('download-progress')}[data-state="failed"]`).waitFor();
    await expect(page.locator('.el-message--error').last().textContent()).resolves.toContain('not_found');
  });

  it("opens VS Code on the environment's host alias and lists the CLI commands", async () => {
    await page.goto(`${stack.url}/environments/${envs.sshd.id}`);
    const connect = page.locator(sel('connect-panel'));
    await expect(connect.locator(sel('open-vscode')).getAttribute('href')).resolves.toBe(
      'vscode://vscode-remote/ssh-remote+rg-train-box/root',
    );
    const commands = await connect.locator(sel('cli-command')).allTextContents();
    expect(commands).toEqual([
      `npx @remotegpu/cli login --url ${new URL(stack.url).origin}`,
      "remotegpu ssh 'Train Box'",
      'remotegpu config-ssh  # Host rg-train-box',
      "remotegpu open 'Train Box' --vscode",
    ]);
    await expect(page.locator(sel('ssh-config')).textContent()).resolves.toContain('Host rg-train-box');
    await shot(page, 'files-connect');
  });

  it("renter B's console session gets 404 for A's files, both ways", async () => {
    const pageB = await pageAs(B);
    const statuses = await pageB.evaluate(async (id) => {
      const url = (path: string) => `/api/v1/environments/${id}/files?path=${encodeURIComponent(path)}`;
      const get = await fetch(url('/etc/hostname'));
      const put = await fetch(url('/root/from-b.bin'), {
        method: 'PUT',
        headers: { 'x-remotegpu-upload': '1' },
        body: 'written by B',
      });
      return [get.status, put.status];
    }, envs.box.id);
    expect(statuses).toEqual([404, 404]);
    const inside = await docker(['exec', envs.box.container, 'sh', '-c', 'ls /root/from-b.bin 2>&1 || true']);
    expect(inside).toMatch(/No such file/);
    await pageB.context().close();
  });
});
