// target.probe: read a target sshd's host key (no login) so the edge can pin it at enrolment.
import net from 'node:net';
import ssh2 from 'ssh2';

/** `<type> <base64>` of a raw SSH public key blob (its type is the blob's first string). */
export function keyLine(blob: Buffer): string {
  const len = blob.readUInt32BE(0);
  return `${blob.subarray(4, 4 + len).toString('latin1')} ${blob.toString('base64')}`;
}

export async function probeHostKey(host: string, port: number, timeoutMs = 10_000): Promise<string> {
  return new Promise((resolve, reject) => {
    let key: string | null = null;
    const sock = net.connect({ host, port });
    const client = new ssh2.Client();
    const done = (err: Error | null) => {
      clearTimeout(timer);
      client.end();
      sock.destroy();
      if (key) resolve(key);
      else reject(err ?? new Error('no host key offered'));
    };
    const timer = setTimeout(
      () => done(new Error(`no SSH handshake from ${host}:${port} within ${timeoutMs} ms`)),
      timeoutMs,
    );
    client.on('error', (err) => done(err));
    client.connect({
      sock,
      username: 'probe',
      readyTimeout: timeoutMs,
      // Capture the key and stop: the probe never authenticates.
      hostVerifier: (blob: Buffer) => {
        key = keyLine(blob);
        setImmediate(() => done(null));
        return false;
      },
    });
  });
}
