// ssh -L/-D/-R through the relay with the real OpenSSH client: inside the environment (its loopback too), never the relay host.
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Route } from '@remotegpu/schema';
import { Harness, run, waitForPort } from './harness.ts';

const h = new Harness();
const routes: Record<string, Route> = {};
let gateway = ''; // the docker bridge's address on the relay host
const children: ChildProcess[] = [];
const servers: http.Server[] = [];
let port = 0;
const nextLocal = () => h.portBase + 70 + port++; // outside the env ports the harness hands out (base..base+69 here)

function serve(host: string, body: string): Promise<number> {
  const srv = http.createServer((_req, res) => res.end(body));
  servers.push(srv);
  return new Promise((resolve) => srv.listen(0, host, () => resolve((srv.address() as net.AddressInfo).port)));
}

/** `ssh -N` with forwards, kept running until the end of the file. */
function tunnel(r: Route, args: string[]): ChildProcess {
  const c = spawn(
    'ssh',
    [...h.sshOpts({ port: r.ssh_port }), '-N', '-o', 'ExitOnForwardFailure=yes', ...args, 'root@127.0.0.1'],
    { stdio: 'ignore' },
  );
  children.push(c);
  return c;
}

async function curl(args: string[]): Promise<string> {
  const r = await run('curl', ['-sf', '--max-time', '5', ...args]);
  return r.code === 0 ? r.stdout : `curl exit ${r.code}`;
}

/** Runs `cmd` in the environment until it prints `want` (a -R listener appears a moment after ssh starts). */
async function insideUntil(r: Route, cmd: string, want: string): Promise<string> {
  let out = '';
  for (let i = 0; i < 40 && !out.includes(want); i++) {
    out = (await h.ssh(r.ssh_port, 'root', [cmd])).stdout;
    if (!out.includes(want)) await new Promise((res) => setTimeout(res, 100));
  }
  return out;
}

beforeAll(async () => {
  await h.start();
  const s = h.services;
  const [busybox, stock, sshd] = await Promise.all([
    h.container(s.REMOTEGPU_TEST_BUSYBOX_IMAGE, { cmd: ['sleep', '100000'] }),
    h.container(s.REMOTEGPU_TEST_STOCK_IMAGE, { cmd: ['sleep', '100000'] }),
    h.container(s.REMOTEGPU_TEST_SSHD_IMAGE, { env: [`SSH_AUTHORIZED_KEYS=${h.platformPublic}`], readyPort: 22 }),
  ]);
  gateway = (await h.docker.getContainer(busybox.id).inspect()).NetworkSettings.Networks.bridge!.Gateway;
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
  const imageKey = readFileSync(s.REMOTEGPU_TEST_KNOWN_HOSTS, 'utf8').trim();
  routes.sshd = h.addRoute({
    type: 'container',
    target: { kind: 'ssh', ip: sshd.ip, port: 22, host_key: imageKey },
    target_ip: sshd.ip,
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
  // Servers bound to the containers' loopback only, as VS Code's server and Jupyter are.
  const b = await h.ssh(routes.busybox.ssh_port, 'root', [
    'echo busybox-loopback > /www/index.html && httpd -p 127.0.0.1:8017 -h /www && echo ok',
  ]);
  expect(b.stdout, b.stderr).toBe('ok\n');
  const st = await h.ssh(routes.stock.ssh_port, 'root', [
    'mkdir -p /srv && echo stock-loopback > /srv/index.html && cd /srv && (nohup python3 -m http.server 8017 --bind 127.0.0.1 >/dev/null 2>&1 &) && echo ok',
  ]);
  expect(st.stdout, st.stderr).toBe('ok\n');
}, 60_000);

afterAll(async () => {
  for (const c of children) c.kill();
  for (const s of servers) s.close();
  await h.stop();
  rmSync(h.dir, { recursive: true, force: true });
});

describe.each([
  { name: 'busybox image (docker exec)', key: 'busybox' },
  { name: 'stock image (docker exec)', key: 'stock' },
])('$name: -L and -D reach the container loopback, never the relay host', ({ key }) => {
  const want = `${key}-loopback\n`;

  it('ssh -L to 127.0.0.1 and to localhost reaches a server bound to the container loopback', async () => {
    const [a, b] = [nextLocal(), nextLocal()];
    tunnel(routes[key]!, ['-L', `127.0.0.1:${a}:127.0.0.1:8017`, '-L', `127.0.0.1:${b}:localhost:8017`]);
    await Promise.all([waitForPort('127.0.0.1', a), waitForPort('127.0.0.1', b)]);
    expect(await curl([`http://127.0.0.1:${a}/`])).toBe(want);
    expect(await curl([`http://127.0.0.1:${b}/`])).toBe(want);
  });

  it('ssh -D reaches the container loopback and refuses the relay host (its loopback and its bridge address)', async () => {
    const socks = nextLocal();
    const hostLoopback = await serve('127.0.0.1', 'relay-host');
    const hostBridge = await serve(gateway, 'relay-host');
    // The relay host's bridge address is reachable from inside the container itself: only the relay refuses it.
    const direct = await h.ssh(routes.busybox!.ssh_port, 'root', [
      `timeout 3 wget -q -O- http://${gateway}:${hostBridge}/`,
    ]);
    expect(direct.stdout).toBe('relay-host');
    tunnel(routes[key]!, ['-D', `127.0.0.1:${socks}`]);
    await waitForPort('127.0.0.1', socks);
    const proxy = ['--socks5-hostname', `127.0.0.1:${socks}`];
    expect(await curl([...proxy, 'http://localhost:8017/'])).toBe(want);
    expect(await curl([...proxy, 'http://127.0.0.1:8017/'])).toBe(want);
    expect(await curl([...proxy, `http://127.0.0.1:${hostLoopback}/`])).toMatch(/^curl exit/);
    expect(await curl([...proxy, `http://${gateway}:${hostBridge}/`])).toMatch(/^curl exit/);
  });
});

describe('ssh -R listens inside the environment', () => {
  const fetchInside: Record<string, (port: number) => string> = {
    busybox: (p) => `timeout 3 wget -q -O- http://127.0.0.1:${p}/`,
    stock: (p) =>
      `python3 -c "import urllib.request as u; print(u.urlopen('http://127.0.0.1:${p}/', timeout=3).read().decode(), end='')"`,
    sshd: (p) => `timeout 3 wget -q -O- http://127.0.0.1:${p}/`,
    physical: (p) => `curl -sf --max-time 3 http://127.0.0.1:${p}/`,
  };

  it.each(['busybox', 'stock', 'sshd', 'physical'])(
    '%s: a renter-side server is reached from inside through -R',
    async (key) => {
      const renter = await serve('127.0.0.1', `renter-${key}`);
      // Inside a container any fixed port is free; on the physical machine (this host) take one of ours.
      const rport = key === 'physical' ? nextLocal() : 18000 + Object.keys(fetchInside).indexOf(key);
      tunnel(routes[key]!, ['-R', `${rport}:127.0.0.1:${renter}`]);
      expect(await insideUntil(routes[key]!, fetchInside[key]!(rport), `renter-${key}`)).toBe(`renter-${key}`);
      if (key !== 'physical') {
        // Not on the relay host: nothing listens on its loopback at that port.
        const onHost = await new Promise<boolean>((resolve) => {
          const s = net.connect({ host: '127.0.0.1', port: rport }, () => {
            s.destroy();
            resolve(true);
          });
          s.once('error', () => resolve(false));
        });
        expect(onHost).toBe(false);
      }
    },
  );
});
