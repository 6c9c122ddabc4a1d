// The whole platform for integration tests: the stack kit (stand-ins, the edge in workerd, an admin) with real relay
// agent processes on the private Docker engine, and what the tests add to it (renters, agent logs, container clean-up).
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { ok } from '../../dev/src/json-api.ts';
import { startStack, type Stack } from '../../dev/src/stack.ts';
import { ownerNetworkName, relayIdOf } from '../../relay-agent/src/docker/labels.ts';
import { docker, loadServices } from './services.ts';

interface AgentOptions {
  stateDir: string;
  sshListen: string;
  sshPorts: string;
  extraEnv?: Record<string, string>;
  /** The edge URL the agent dials (default: the platform's). */
  edge?: string;
  /** The agent's whole log (stdout and stderr) at debug level goes there, for tests that read it. */
  logFile?: string;
  /** Collects the agent's log (JSON lines on stderr) at its default level, as an operator would see it. */
  logLines?: string[];
}

export interface Platform extends Stack {
  /** Registers a new renter and returns its token. */
  renter(): Promise<string>;
  /** The real agent CLI against the private Docker engine, quiet unless AGENT_TEST_LOG is set. */
  spawnAgent(token: string, o: AgentOptions): ChildProcess;
}

/**
 * `vars`: more edge bindings over the defaults (the fault suite shortens deadlines with them);
 * `sshDomain`: SSH names in the Cloudflare DNS stand-in (see StackOptions).
 */
export async function startPlatform(o: { vars?: Record<string, string>; sshDomain?: string } = {}): Promise<Platform> {
  const stack = await startStack({
    ...o,
    persist: true,
    admin: { email: 'admin@platform.test', password: randomBytes(12).toString('hex') },
    // This machine has 2 cores; the tests run a few 1-core containers at once.
    vars: { REMOTEGPU_COMMAND_TIMEOUT_MS: '60000', REMOTEGPU_CPU_OVERCOMMIT: '8', ...o.vars },
  });
  const p: Platform = Object.assign(stack, {
    async renter(): Promise<string> {
      const email = `r${randomBytes(6).toString('hex')}@platform.test`;
      return ok(
        'register',
        await stack.api<{ token: string }>('/api/v1/auth/register', { body: { email, password: 'renter-password-1' } }),
      ).token;
    },
    spawnAgent(token: string, o: AgentOptions): ChildProcess {
      const log = o.logFile ? openSync(o.logFile, 'a') : null;
      const verbose = Boolean(process.env.AGENT_TEST_LOG) || log !== null;
      const child = stack.startRelay({
        token,
        stateDir: o.stateDir,
        sshListen: o.sshListen,
        sshPorts: o.sshPorts,
        docker: loadServices().dockerHost,
        ...(verbose ? { logLevel: 'debug' } : o.logLines ? {} : { logLevel: 'warn' }),
        ...(o.extraEnv ? { env: o.extraEnv } : {}),
        ...(o.edge ? { edge: o.edge } : {}),
        stdio: [
          'ignore',
          log ?? (process.env.AGENT_TEST_LOG ? 'inherit' : 'ignore'),
          log ?? (o.logLines ? 'pipe' : 'inherit'),
        ],
      });
      if (log !== null) closeSync(log);
      const lines = o.logLines;
      if (lines && child.stderr) {
        let rest = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
          const parts = (rest + chunk).split('\n');
          rest = parts.pop() ?? '';
          lines.push(...parts.filter(Boolean));
        });
      }
      return child;
    },
  });
  stack.onClose(() => removeContainers(stack));
  return p;
}

/** Removes every container (and its owner's network) made by this platform's relays, whatever the tests left. */
async function removeContainers(stack: Stack): Promise<void> {
  const hosts = await stack.api<{ items: { platform_public_key: string | null }[] }>('/api/v1/admin/hosts', {
    token: await stack.admin(),
  });
  for (const h of hosts.body.items ?? []) {
    if (!h.platform_public_key) continue;
    const lines = (
      await docker([
        'ps',
        '-a',
        '--filter',
        `label=remotegpu.managed=${relayIdOf(h.platform_public_key)}`,
        '--format',
        '{{.ID}} {{.Label "remotegpu.owner"}}',
      ]).catch(() => '')
    )
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(' '));
    if (lines.length) await docker(['rm', '-f', ...lines.map((l) => l[0]!)]).catch(() => '');
    for (const owner of new Set(lines.map((l) => l[1]).filter(Boolean)))
      await docker(['network', 'rm', ownerNetworkName(owner!)]).catch(() => '');
  }
}
