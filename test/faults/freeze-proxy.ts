// A TCP proxy on loopback between a relay and the edge that a test can cut: while frozen, every byte either way is
// dropped (as by a firewall's DROP) and new connections are held without an answer; healing closes the connections
// that lost bytes (their streams are broken, as their ends have given up by then) and forwards new ones again.
import { connect, createServer, type Socket } from 'node:net';

export interface FreezeProxy {
  /** `http://127.0.0.1:<port>`: give it to the relay as its edge. */
  url: string;
  freeze(): void;
  heal(): void;
  close(): Promise<void>;
}

export async function startFreezeProxy(target: { host: string; port: number }): Promise<FreezeProxy> {
  let frozen = false;
  const pairs = new Set<{ a: Socket; b: Socket | null; broken: boolean }>();
  const server = createServer((a) => {
    const pair: { a: Socket; b: Socket | null; broken: boolean } = { a, b: null, broken: frozen };
    pairs.add(pair);
    const end = () => {
      a.destroy();
      pair.b?.destroy();
      pairs.delete(pair);
    };
    a.on('error', end).on('close', end);
    if (frozen) return; // held: no answer until healed (then closed)
    const b = connect(target.port, target.host);
    pair.b = b;
    b.on('error', end).on('close', end);
    a.on('data', (d) => {
      if (frozen) pair.broken = true;
      else b.write(d);
    });
    b.on('data', (d) => {
      if (frozen) pair.broken = true;
      else a.write(d);
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}`,
    freeze() {
      frozen = true;
    },
    heal() {
      frozen = false;
      for (const p of [...pairs]) {
        if (p.broken || !p.b) {
          p.a.destroy();
          p.b?.destroy();
          pairs.delete(p);
        }
      }
    },
    async close() {
      for (const p of pairs) {
        p.a.destroy();
        p.b?.destroy();
      }
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
