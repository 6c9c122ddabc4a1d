// ssh -A through the relay: the renter's agent answers inside every kind of environment, and only when asked for.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { Harness, run, waitForPort } from './harness.ts';

const h = new Harness();
const routes: Record<string, Route> = {};
const agentSock = join(h.dir, 'agent.sock');
let agent: ChildProcess | null = null;
let ownerBlob = '';

/** Lists the agent's keys with the agent protocol (SSH2_AGENTC_REQUEST_IDENTITIES), for images without ssh-add. */
const PY_LIST = `python3 -c '
import os, socket, struct
s = socket.socket(socket.AF_UNIX); s.connect(os.environ["SSH_AUTH_SOCK"])
s.sendall(struct.pack(">IB", 1, 11))
def rd(n):
    b = b""
    while len(b) < n: b += s.recv(n - len(b))
    return b
body = rd(struct.unpack(">I", rd(4))[0])
n = struct.unpack(">I", body[1:5])[0]; p = 5
import base64
for _ in range(n):
    l = struct.unpack(">I", body[p:p+4])[0]; blob = body[p+4:p+4+l]; p += 4 + l
    l = struct.unpack(">I", body[p:p+4])[0]; p += 4 + l
    print(base64.b64encode(blob).decode())
'`;

beforeAll(async () => {
  await h.start();
  agent = spawn('ssh-agent', ['-D', '-a', agentSock], { stdio: 'ignore' });
  for (let i = 0; i < 100; i++) {
    if ((await run('ssh-add', ['-l'], { env: { SSH_AUTH_SOCK: agentSock } })).code !== 2) break;
    await new Promise((r) => setTimeout(r, 20));
  }
  const add = await run('ssh-add', [h.ownerKey], { env: { SSH_AUTH_SOCK: agentSock } });
  expect(add.code, add.stderr).toBe(0);
  ownerBlob = readFileSync(`${h.ownerKey}.pub`, 'utf8').split(' ')[1]!;
  const s = h.services;
  const [sshd, stock, busybox] = await Promise.all([
    h.container(s.REMOTEGPU_TEST_SSHD_IMAGE, { env: [`SSH_AUTHORIZED_KEYS=${h.platformPublic}`], readyPort: 22 }),
    h.container(s.REMOTEGPU_TEST_STOCK_IMAGE, { cmd: ['sleep', '100000'] }),
    h.container(s.REMOTEGPU_TEST_BUSYBOX_IMAGE, { cmd: ['sleep', '100000'] }),
  ]);
  const imageKey = readFileSync(s.REMOTEGPU_TEST_KNOWN_HOSTS, 'utf8').trim();
  routes.sshd = h.addRoute({
    type: 'container',
    target: { kind: 'ssh', ip: sshd.ip, port: 22, host_key: imageKey },
    target_ip: sshd.ip,
  }).route;
  routes.exec = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: sshd.id },
    target_ip: sshd.ip,
  }).route;
  routes.busybox = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: busybox.id },
    target_ip: busybox.ip,
  }).route;
  routes.stock = h.addRoute({
    type: 'container',
    target: { kind: 'docker', container_id: stock.id },
    target_ip: stock.ip,
  }).route;
  routes.physical = h.addRoute({
    type: 'physical',
    target: {
      kind: 'ssh',
      ip: s.REMOTEGPU_PHYSICAL_HOST,
      port: Number(s.REMOTEGPU_PHYSICAL_PORT),
      host_key: readFileSync(s.REMOTEGPU_PHYSICAL_KNOWN_HOSTS, 'utf8').trim(),
    },
  }).route;
}, 60_000);

afterAll(async () => {
  agent?.kill();
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

const withAgent = async (r: Route, cmd: string, forward = true) => {
  // The gateway opens a route's port asynchronously after addRoute (seen refused under load): wait for it.
  await waitForPort('127.0.0.1', r.ssh_port);
  return run(
    'ssh',
    [...h.sshOpts({ port: r.ssh_port }), ...(forward ? ['-A'] : ['-o', 'ForwardAgent=no']), 'root@127.0.0.1', cmd],
    { env: { SSH_AUTH_SOCK: agentSock } },
  );
};

describe.each([
  { name: 'sshd container (upstream ssh)', key: 'sshd' },
  { name: 'physical machine (loopback sshd)', key: 'physical' },
  { name: 'sshd image via docker exec', key: 'exec' },
])('$name', ({ key }) => {
  it('ssh -A: ssh-add -L inside lists the renter key', async () => {
    const r = await withAgent(routes[key]!, 'ssh-add -L');
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(ownerBlob);
  });

  it('without -A there is no agent inside', async () => {
    const r = await withAgent(routes[key]!, 'echo "sock=$SSH_AUTH_SOCK"; ssh-add -l', false);
    expect(r.stdout).toContain('sock=\n');
    expect(r.code).not.toBe(0);
  });
});

describe('stock image via docker exec (no OpenSSH inside)', () => {
  it('ssh -A: the agent socket is private to the user and answers with the renter key', async () => {
    const r = await withAgent(
      routes.stock!,
      `stat -c '%a %U' "$SSH_AUTH_SOCK" "$(dirname "$SSH_AUTH_SOCK")"; ${PY_LIST}`,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe(`600 root\n700 root\n${ownerBlob}\n`);
  });
});

describe('busybox image via docker exec (no agent client inside)', () => {
  it('ssh -A: the agent socket answers a request-identities with the renter key', async () => {
    // SSH2_AGENTC_REQUEST_IDENTITIES by hand, through the relay's own socat (busybox nc has no unix sockets);
    // stdin stays open a moment: agents may drop a client that half-closes before the answer.
    const ask = `(printf '\\000\\000\\000\\001\\013'; sleep 1) | /.remotegpu/bin/socat -t2 - "UNIX-CONNECT:$SSH_AUTH_SOCK" | base64 | tr -d '\\n'`;
    const r = await withAgent(routes.busybox!, ask);
    expect(r.code, r.stderr).toBe(0);
    const answer = Buffer.from(r.stdout, 'base64');
    expect(answer[4]).toBe(12); // SSH2_AGENT_IDENTITIES_ANSWER
    expect(answer.includes(Buffer.from(ownerBlob, 'base64'))).toBe(true);
  });
});

describe('git over SSH inside the environment', () => {
  it('git clone over SSH from inside the physical machine uses the forwarded key', async () => {
    // A bare repository reached through the relay itself: only the renter's key (in the agent) opens it.
    const repo = join(h.dir, 'repo.git');
    await run('git', ['init', '-q', '--bare', repo]);
    await run('sh', [
      '-c',
      `cd ${h.dir} && git clone -q ${repo} work && cd work && echo hi > f && git add f && git -c user.email=a@b -c user.name=a commit -qm one && git push -q origin HEAD:main`,
    ]);
    await waitForPort('127.0.0.1', routes.physical!.ssh_port);
    // No -i: the renter key file is not used, only the agent forwarded into the session has it.
    const ssh = `ssh -F /dev/null -o UserKnownHostsFile=${h.knownHosts} -o StrictHostKeyChecking=yes -o BatchMode=yes -o LogLevel=ERROR -p ${routes.physical!.ssh_port}`;
    const r = await withAgent(
      routes.physical!,
      `cd ${h.dir} && GIT_SSH_COMMAND='${ssh}' git clone -q -b main root@127.0.0.1:${repo} cloned && cat cloned/f`,
    );
    expect(r.stdout, r.stderr).toBe('hi\n');
  });
});
