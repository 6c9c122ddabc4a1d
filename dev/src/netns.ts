// Network namespaces for a local fleet: one per fake GPU host on a host-side bridge, like machines on a LAN (root only).
import { execFileSync } from 'node:child_process';
import { createConnection, createServer, type Server } from 'node:net';

/** One namespace: its name (for `ip netns exec`) and its own address on the fleet's LAN. */
export interface NetnsHost {
  index: number;
  netns: string;
  address: string;
}

export interface FleetNet {
  /** The bridge's address in the root namespace: the hosts' gateway, where they reach the edge. */
  gateway: string;
  hosts: NetnsHost[];
  /** Listens on gateway:any and forwards to `target` (host:port on loopback); resolves to the port. */
  forward(target: { host: string; port: number }): Promise<number>;
  /** Removes the namespaces, the bridge and the firewall rules (idempotent). */
  close(): void;
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quiet(cmd: string, args: string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/**
 * `id` (0-255) names everything (`rgf<id>` bridge, `rgf<id>-<i>` namespaces) and picks the LAN 10.231.<id>.0/24:
 * the gateway is .1, host i (from 1) is .(10+i). Leftovers of a run that died with the same id are removed first.
 * The hosts route to Docker's bridges through the gateway (DOCKER-USER accepts the bridge's traffic), so a relay in a
 * namespace reaches its containers as a relay on a GPU host does.
 */
export function createFleetNet(id: number, count: number): FleetNet {
  if (process.getuid?.() !== 0) throw new Error('a local fleet needs root (network namespaces)');
  if (!Number.isInteger(id) || id < 0 || id > 255) throw new Error(`fleet net id must be 0-255, got ${id}`);
  if (!Number.isInteger(count) || count < 1 || count > 200) throw new Error(`hosts must be 1-200, got ${count}`);
  const bridge = `rgf${id}`;
  const gateway = `10.231.${id}.1`;
  const hosts: NetnsHost[] = Array.from({ length: count }, (_, k) => ({
    index: k + 1,
    netns: `rgf${id}-${k + 1}`,
    address: `10.231.${id}.${10 + k + 1}`,
  }));
  const servers: Server[] = [];
  const rules = [
    ['-i', bridge, '-j', 'ACCEPT'],
    ['-o', bridge, '-j', 'ACCEPT'],
  ];
  const close = () => {
    for (const s of servers.splice(0)) s.close();
    for (const r of rules) while (quiet('iptables', ['-D', 'DOCKER-USER', ...r]));
    // Leftovers of earlier runs with more hosts too.
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
      .split('\n')
      .map((l) => l.split(' ')[0]!)
      .filter((n) => n.startsWith(`rgf${id}-`));
    for (const n of names) quiet('ip', ['netns', 'del', n]);
    quiet('ip', ['link', 'del', bridge]);
  };
  close();
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${gateway}/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    for (const h of hosts) {
      const outside = `${bridge}h${h.index}`;
      const inside = `${bridge}n${h.index}`;
      ip('netns', 'add', h.netns);
      ip('link', 'add', outside, 'type', 'veth', 'peer', 'name', inside);
      ip('link', 'set', inside, 'netns', h.netns);
      ip('link', 'set', outside, 'master', bridge, 'up');
      ip('-n', h.netns, 'addr', 'add', `${h.address}/24`, 'dev', inside);
      ip('-n', h.netns, 'link', 'set', inside, 'up');
      ip('-n', h.netns, 'link', 'set', 'lo', 'up');
      ip('-n', h.netns, 'route', 'add', 'default', 'via', gateway);
    }
    // Docker's FORWARD policy is DROP: let the fleet's LAN reach the containers' bridges and back.
    if (!quiet('iptables', ['-S', 'DOCKER-USER'])) quiet('iptables', ['-N', 'DOCKER-USER']);
    for (const r of rules) execFileSync('iptables', ['-I', 'DOCKER-USER', ...r]);
  } catch (err) {
    close();
    const e = err as Error & { stderr?: Buffer };
    throw new Error(`creating the fleet network failed: ${e.stderr?.toString().trim() || e.message}`);
  }
  return {
    gateway,
    hosts,
    close,
    forward(target) {
      return new Promise((resolve, reject) => {
        const srv = createServer((c) => {
          const up = createConnection(target);
          c.pipe(up).pipe(c);
          const end = () => {
            c.destroy();
            up.destroy();
          };
          c.on('error', end);
          up.on('error', end);
          c.on('close', end);
          up.on('close', end);
        });
        srv.once('error', reject);
        srv.listen(0, gateway, () => {
          servers.push(srv);
          const a = srv.address();
          resolve(typeof a === 'object' && a ? a.port : 0);
        });
      });
    },
  };
}
