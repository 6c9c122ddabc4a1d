// The test services themselves: the sshd and busybox images on a user-defined network, reached with the real
// OpenSSH client and with fetch, and the loopback "physical machine" sshd.
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Services, SshResult, SshTarget } from '../support/services.ts';
import { containerIp, containerTarget, docker, loadServices, physicalTarget, runSsh } from '../support/services.ts';
import { until } from '../../dev/src/until.ts';

const suffix = randomBytes(4).toString('hex');
const network = `rg-services-test-${suffix}`;
const containers: string[] = [];

let services: Services;

async function startContainer(name: string, args: string[]): Promise<string> {
  containers.push(name);
  await docker(['run', '-d', '--name', name, '--network', network, '--label', 'org.remotegpu.test=services', ...args]);
  return containerIp(name, network);
}

/** Retries `true` over ssh until sshd accepts us (it starts in a few ms, but do not race it). */
async function waitForSsh(target: SshTarget, timeoutMs = 15_000): Promise<void> {
  let last: SshResult | undefined;
  await until(
    'sshd',
    async () => {
      last = await runSsh(target, 'true', { options: { ConnectTimeout: '2' } });
      return last.code === 0;
    },
    { timeout: timeoutMs, interval: 200 },
  ).catch(() => {
    throw new Error(
      `sshd at ${target.host}:${target.port ?? 22} not ready: exit ${last?.code}, ${last?.stderr.trim()}`,
    );
  });
}

function fetchWithRetry(url: string, timeoutMs = 10_000): Promise<Response> {
  return until(url, () => fetch(url, { signal: AbortSignal.timeout(2_000) }), { timeout: timeoutMs, interval: 200 });
}

beforeAll(async () => {
  services = loadServices(); // throws "test services are not up: ..." when they are not
  await docker(['network', 'create', '--label', 'org.remotegpu.test=services', network]);
});

afterAll(async () => {
  if (!services) return;
  if (containers.length > 0) await docker(['rm', '-f', ...containers]).catch(() => '');
  await docker(['network', 'rm', network]).catch(() => '');
});

describe('sshd image', () => {
  let target: SshTarget;

  beforeAll(async () => {
    const ip = await startContainer(`rg-sshd-${suffix}`, [services.sshdImage]);
    expect(ip).toMatch(/^172\.31\.\d+\.\d+$/);
    target = containerTarget(ip);
    await waitForSsh(target);
  });

  it('runs a command as root over the real ssh client, host key pinned', async () => {
    const res = await runSsh(target, 'echo hello; id -u');
    expect(res).toMatchObject({ code: 0, stdout: 'hello\n0\n' });
  });

  it('passes the remote exit status through', async () => {
    const res = await runSsh(target, 'exit 7');
    expect(res.code).toBe(7);
  });

  it('offers public key authentication only', async () => {
    // The physical machine's key is not authorized in this container.
    const res = await runSsh({ ...target, key: services.physical.key }, 'true');
    expect(res.code).toBe(255);
    expect(res.stderr).toContain('Permission denied (publickey)');
  });

  it('authorizes the keys given in SSH_AUTHORIZED_KEYS at run time', async () => {
    const extraKey = readFileSync(`${services.physical.key}.pub`, 'utf8').trim();
    const ip = await startContainer(`rg-sshd-extra-${suffix}`, [
      '-e',
      `SSH_AUTHORIZED_KEYS=${extraKey}`,
      services.sshdImage,
    ]);
    const extra = { ...containerTarget(ip), key: services.physical.key };
    await waitForSsh(extra);
    const res = await runSsh(extra, 'echo extra');
    expect(res).toMatchObject({ code: 0, stdout: 'extra\n' });
  });
});

describe('physical machine sshd', () => {
  it('answers on the loopback address with its own key and pinned host key', async () => {
    const target = physicalTarget();
    expect(target).toMatchObject({ host: '127.0.0.2', port: 2222 });
    const res = await runSsh(target, 'echo hello; id -u');
    expect(res).toMatchObject({ code: 0, stdout: 'hello\n0\n' });
    expect((await runSsh(target, 'exit 7')).code).toBe(7);
  });

  it("logs in as a fresh server would: the CI host's ~/.bashrc is not run", async () => {
    // bash under sshd sources ~/.bashrc even for `ssh host cmd`; this host's own (pyenv init) must not run per login.
    const res = await runSsh(physicalTarget(), 'cat ~/.bashrc 2>/dev/null | wc -c; echo "pyenv=${PYENV_ROOT:-}"');
    expect(res).toMatchObject({ code: 0, stdout: '0\npyenv=\n' });
  });
});

describe('busybox image', () => {
  it('serves HTTP with httpd, reachable from the test process', async () => {
    const ip = await startContainer(`rg-busybox-${suffix}`, [
      services.busyboxImage,
      'httpd',
      '-f',
      '-p',
      '80',
      '-h',
      '/www',
    ]);
    const res = await fetchWithRetry(`http://${ip}/`);
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('<h1>ok</h1>');
  });
});
