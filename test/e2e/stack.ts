// The whole platform for the console e2e tests: the stack kit serving web/dist, demo data, a real relay agent.
import { createWriteStream } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../../dev/src/free-port.ts';
import { ok } from '../../dev/src/json-api.ts';
import { seedDemo } from '../../dev/src/seed-demo.ts';
import { startStack as startKit, type Stack as Kit } from '../../dev/src/stack.ts';
import { until } from '../../dev/src/until.ts';
import { docker, loadServices } from '../support/services.ts';

export const ADMIN = { email: 'admin@e2e.test', password: 'admin-password-e2e-0123' };

export interface StackOptions {
  /** REMOTEGPU_DOMAIN (default `localhost`): apps at `*.container.<domain>`. */
  domain?: string;
  /** The console's host name as browsers reach it (default 127.0.0.1); REMOTEGPU_PUBLIC_URL is built from it. */
  consoleHost?: string;
}

export interface Stack extends Kit {
  /** The console's origin as browsers reach it (REMOTEGPU_PUBLIC_URL). */
  consoleUrl: string;
  /** The seeded relay `local`, online. */
  hostId: string;
}

export async function startStack(opts: StackOptions = {}): Promise<Stack> {
  const services = loadServices();
  const port = await freePort();
  const consoleUrl = `http://${opts.consoleHost ?? '127.0.0.1'}:${port}`;
  const kit = await startKit({
    port,
    admin: ADMIN,
    secretKey: 'e2e-secret-key-0123456789abcdef0123456789abcdef',
    vars: { REMOTEGPU_PUBLIC_URL: consoleUrl, REMOTEGPU_DOMAIN: opts.domain ?? 'localhost' },
  });
  try {
    const demo = await seedDemo(kit.url, ADMIN.email, ADMIN.password);
    const agentLog = createWriteStream(join(tmpdir(), `remotegpu-e2e-agent-${process.pid}.log`));
    const agent = kit.startRelay({
      token: demo.hostToken,
      sshListen: `127.0.0.1:${await freePort()}`,
      stateDir: join(kit.dir, 'relay'),
      // Below Linux's ephemeral range, so no outgoing connection holds an environment's port.
      sshPorts: '24000-24999',
      docker: services.dockerHost,
      logLevel: 'info',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout?.pipe(agentLog);
    agent.stderr?.pipe(agentLog);
    agent.once('exit', () => agentLog.end());
    const token = await kit.admin();
    await until(
      'the relay agent to come online',
      async () => {
        const { items } = ok(
          'hosts',
          await kit.api<{ items: { id: string; status: string }[] }>('/api/v1/admin/hosts', { token }),
        );
        return items.find((h) => h.id === demo.hostId)?.status === 'online';
      },
      { timeout: 60_000, interval: 250 },
    );
    // Whatever the run left on the private engine (containers, data volumes, the renters' networks) goes before the agent stops.
    kit.onClose(async () => {
      const envs = ok(
        'environments',
        await kit.api<{ items: { id: string; user_id: string }[] }>('/api/v1/environments?all=true', { token }),
      ).items;
      const names = envs.map((e) => `remotegpu-${e.id}`);
      if (names.length) await docker(['rm', '-f', ...names]).catch(() => undefined);
      // Their data volumes too (kept by design across container removal).
      const volumes = envs.map((e) => `remotegpu-data-${e.id}`);
      if (volumes.length) await docker(['volume', 'rm', '-f', ...volumes]).catch(() => undefined);
      // And the commits a no-GPU start or a clone made of them (remotegpu-system/<env>:<tag>).
      for (const e of envs) {
        const refs = await docker([
          'image',
          'ls',
          '--format',
          '{{.Repository}}:{{.Tag}}',
          `remotegpu-system/${e.id}`,
        ]).catch(() => '');
        const list = refs.split('\n').filter(Boolean);
        if (list.length) await docker(['rmi', '-f', ...list]).catch(() => undefined);
      }
      for (const owner of new Set(envs.map((e) => e.user_id))) {
        await docker(['network', 'rm', `remotegpu-u-${owner}`]).catch(() => undefined);
      }
    });
    return Object.assign(kit, { consoleUrl, hostId: demo.hostId });
  } catch (err) {
    await kit.close();
    throw err;
  }
}
