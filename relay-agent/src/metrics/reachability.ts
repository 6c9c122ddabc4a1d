// TCP reachability and connect round-trip time of a physical machine's sshd.
import { connect } from 'node:net';

export function probeTcp(
  host: string,
  port: number,
  timeoutMs = 3000,
): Promise<{ reachable: boolean; rtt_ms: number | null }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const sock = connect({ host, port });
    const done = (reachable: boolean) => {
      sock.destroy();
      resolve({ reachable, rtt_ms: reachable ? Math.round((performance.now() - started) * 100) / 100 : null });
    };
    sock.setTimeout(timeoutMs, () => done(false));
    sock.once('connect', () => done(true));
    sock.once('error', () => done(false));
  });
}
