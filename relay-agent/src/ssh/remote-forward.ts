// `ssh -R`: tcpip-forward global requests become listeners inside the environment; each connection goes back to the renter as forwarded-tcpip.
import type { Duplex } from 'node:stream';
import type { Connection } from 'ssh2';
import type { Logger } from '../contracts.ts';
import type { RemoteListener, Target } from './target.ts';

const MAX_LISTENERS = 32;
const noop = () => undefined;

interface ForwardInfo {
  bindAddr: string;
  bindPort: number;
}

/** Serves the renter's `-R` requests for one connection; listeners close with it. */
export function serveRemoteForwards(
  client: Connection,
  target: Target,
  log: Logger,
  count: { in: (c: Buffer) => void; out: (c: Buffer) => void },
): void {
  const listeners = new Map<string, RemoteListener>();
  const key = (addr: string, port: number) => `${addr}\0${port}`;

  client.on('request', (accept, reject, name, raw) => {
    const info = raw as ForwardInfo;
    if (name === 'cancel-tcpip-forward') {
      const l = listeners.get(key(info.bindAddr, info.bindPort));
      if (!l) return reject?.();
      l.close();
      listeners.delete(key(info.bindAddr, info.bindPort));
      return accept?.();
    }
    if (name !== 'tcpip-forward' || listeners.size >= MAX_LISTENERS) return reject?.();
    let bound = info.bindPort;
    target
      .listen(info.bindAddr, info.bindPort, (sock, src) => {
        // OpenSSH's client matches the channel to its -R by the address and port it asked for.
        client.forwardOut(info.bindAddr, bound, src.ip, src.port, (err, ch) => {
          if (err) return sock.destroy();
          pipe(ch, sock, count);
        });
      })
      .then(
        (l) => {
          bound = l.port;
          if (closed) return l.close();
          listeners.set(key(info.bindAddr, l.port), l);
          log.info('ssh remote forward listening inside the environment', { bind: `${info.bindAddr}:${l.port}` });
          accept?.(l.port);
        },
        (err: unknown) => {
          log.warn('ssh remote forward refused', {
            bind: `${info.bindAddr}:${info.bindPort}`,
            reason: err instanceof Error ? err.message : String(err),
          });
          reject?.();
        },
      );
  });

  let closed = false;
  client.once('close', () => {
    closed = true;
    for (const l of listeners.values()) l.close();
    listeners.clear();
  });
}

function pipe(down: Duplex, up: Duplex, count: { in: (c: Buffer) => void; out: (c: Buffer) => void }): void {
  down.on('error', noop);
  up.on('error', noop);
  down.on('data', count.in);
  up.on('data', count.out);
  down.pipe(up);
  up.pipe(down);
  down.once('close', () => up.destroy());
  up.once('close', () => down.destroy());
}
