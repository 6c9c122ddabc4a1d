// ssh2's data path as the relay patches it (patches/ssh2+1.17.0.patch): every cipher and MAC, compression and a rekey
// mid-transfer move bulk data intact both ways, and outgoing packets reuse pooled memory, written only once sent.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import { createRequire } from 'node:module';
import net from 'node:net';
import { Duplex } from 'node:stream';
import ssh2 from 'ssh2';
import type { Algorithms, CipherAlgorithm, CompressionAlgorithm, MacAlgorithm } from 'ssh2';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateUsableKeyPair } from './keys.ts';

const MiB = 1024 * 1024;
const pool = createRequire(import.meta.url)('ssh2/lib/protocol/crypto.js').slabStats as
  | { created: number; reused: number }
  | undefined;

/**
 * A socket whose writes reach the wire an event-loop turn (every 16th: 5 ms) later, their callbacks after that: pooled
 * packet memory reused before its write completed would go out overwritten, and the peer's MAC check would fail.
 */
class LateSocket extends Duplex {
  private n = 0;
  constructor(private readonly inner: net.Socket) {
    super();
    inner.on('data', (d: Buffer) => {
      if (!this.push(d)) inner.pause();
    });
    inner.on('end', () => this.push(null));
    inner.on('error', (err) => this.destroy(err));
  }
  override _read(): void {
    this.inner.resume();
  }
  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    const send = () => this.inner.write(chunk, cb);
    if (++this.n % 16 === 0) setTimeout(send, 5);
    else setImmediate(send);
  }
  override _final(cb: () => void): void {
    this.inner.end(cb);
  }
  override _destroy(err: Error | null, cb: (err: Error | null) => void): void {
    this.inner.destroy();
    cb(err);
  }
}

interface Case {
  cipher: CipherAlgorithm;
  hmac: MacAlgorithm;
  compress?: CompressionAlgorithm;
}

const CASES: Case[] = [
  { cipher: 'chacha20-poly1305@openssh.com', hmac: 'hmac-sha2-256-etm@openssh.com' },
  { cipher: 'aes128-gcm@openssh.com', hmac: 'hmac-sha2-256-etm@openssh.com' },
  { cipher: 'aes256-gcm@openssh.com', hmac: 'hmac-sha2-256-etm@openssh.com' },
  { cipher: 'aes128-ctr', hmac: 'hmac-sha2-256' },
  { cipher: 'aes256-ctr', hmac: 'hmac-sha2-512-etm@openssh.com' },
  { cipher: 'aes192-ctr', hmac: 'hmac-sha1-etm@openssh.com' },
  { cipher: 'aes128-cbc', hmac: 'hmac-sha2-256-96' },
  { cipher: 'aes128-gcm@openssh.com', hmac: 'hmac-sha2-256', compress: 'zlib@openssh.com' },
];

let port = 0;
let server: ssh2.Server;
/** Rekeys the server has completed. */
let rekeys = 0;

beforeAll(async () => {
  const all = <T>(xs: (T | undefined)[]) => [...new Set(xs.filter((x): x is T => x !== undefined))];
  const algorithms: Algorithms = {
    cipher: all(CASES.map((c) => c.cipher)),
    hmac: all(CASES.map((c) => c.hmac)),
    compress: ['none', ...all(CASES.map((c) => c.compress))],
  };
  // An echo server: each exec channel sends back what it receives, then closes. Once a connection has echoed 1 MiB,
  // the server rekeys it (ssh2's client cannot start a rekey), with packets in flight both ways.
  server = new ssh2.Server({ hostKeys: [generateUsableKeyPair('ed25519').private], algorithms }, (conn) => {
    let echoed = 0;
    conn.on('error', () => undefined);
    conn.on('rekey', () => rekeys++);
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('session', (accept) => {
      accept().on('exec', (acceptExec) => {
        const ch = acceptExec();
        ch.on('data', (d: Buffer) => {
          const was = echoed;
          echoed += d.length;
          if (was < MiB && echoed >= MiB) conn.rekey();
        });
        ch.pipe(ch);
      });
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  port = (server.address() as net.AddressInfo).port;
});

afterAll(() => {
  server.close();
});

const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** Sends `data` on `channels` exec channels at once and returns the hashes of what came back on each. */
async function echo(c: Case, data: Buffer, channels: number, late: boolean): Promise<string[]> {
  const tcp = net.connect(port, '127.0.0.1');
  await once(tcp, 'connect');
  const client = new ssh2.Client();
  const ready = once(client, 'ready');
  client.connect({
    sock: late ? new LateSocket(tcp) : tcp,
    username: 'bench',
    algorithms: { cipher: [c.cipher], hmac: [c.hmac], compress: [c.compress ?? 'none'] },
  });
  await ready;
  // A corrupted packet ends the connection (bad MAC or length): fail at once rather than at the test's timeout.
  const failed = new Promise<never>((_resolve, reject) => {
    client.on('error', reject);
    client.on('close', () => reject(new Error('connection closed before every echo came back')));
  });
  try {
    const echoes = Promise.all(
      Array.from(
        { length: channels },
        () =>
          new Promise<string>((resolve, reject) => {
            client.exec('echo', (err, ch) => {
              if (err) return reject(err);
              const hash = createHash('sha256');
              ch.on('data', (d: Buffer) => hash.update(d));
              ch.on('close', () => resolve(hash.digest('hex')));
              ch.end(data);
            });
          }),
      ),
    );
    return await Promise.race([echoes, failed]);
  } finally {
    client.end();
  }
}

describe('ssh2 data path (patched)', () => {
  const data = randomBytes(3 * MiB);

  it.each(CASES)(
    '$cipher + $hmac, compression $compress: 2 channels × 3 MiB echoed intact across a rekey',
    async (c) => {
      const before = rekeys;
      expect(await echo(c, data, 2, true)).toEqual([sha(data), sha(data)]);
      expect(rekeys).toBe(before + 1);
    },
  );

  it('reuses pooled packet memory instead of allocating per packet', async () => {
    expect(pool).toBeDefined();
    const before = { ...pool! };
    // 2 × 8 MiB each way: about 1000 packets of 32 KiB, 7 to a 256 KiB slab, and at most 16 slabs kept free.
    const big = randomBytes(8 * MiB);
    expect(await echo(CASES[1]!, big, 2, false)).toEqual([sha(big), sha(big)]);
    const created = pool!.created - before.created;
    const reused = pool!.reused - before.reused;
    expect(reused).toBeGreaterThan(100);
    expect(created).toBeLessThan(reused / 4);
  });
});
