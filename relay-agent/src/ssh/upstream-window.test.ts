// The receive window of the relay's upstream channels: ssh2's Client `channelWindow` (patches/ssh2+1.17.0.patch) is
// the window a channel offers and keeps, and UpstreamSshTarget opens its channels with UPSTREAM_CHANNEL_WINDOW.
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import type net from 'node:net';
import ssh2 from 'ssh2';
import type { ConnectConfig } from 'ssh2';
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../log.ts';
import { generateUsableKeyPair } from './keys.ts';
import { UPSTREAM_CHANNEL_WINDOW, UpstreamSshTarget } from './upstream-ssh.ts';

const MiB = 1024 * 1024;

interface Seen {
  /** The client's window as the server saw it when the exec channel opened, then the most it reached while sending. */
  initial: number;
  max: number;
}

let server: ssh2.Server | undefined;
afterEach(() => {
  server?.close();
  server = undefined;
});

/** An ssh2 server whose exec channels send `data` and close; `seen` gets each channel's view of the client window. */
async function sender(data: Buffer, seen: Seen[]): Promise<number> {
  const srv = new ssh2.Server({ hostKeys: [generateUsableKeyPair('ed25519').private] }, (conn) => {
    conn.on('error', () => undefined);
    conn.on('authentication', (ctx) => ctx.accept());
    conn.on('session', (accept) =>
      accept().on('exec', (acceptExec) => {
        const ch = acceptExec() as ssh2.ServerChannel & { outgoing: { window: number } };
        const s: Seen = { initial: ch.outgoing.window, max: ch.outgoing.window };
        seen.push(s);
        // Each window adjustment from the client raises what the server may send.
        const timer = setInterval(() => (s.max = Math.max(s.max, ch.outgoing.window)), 0);
        ch.on('close', () => clearInterval(timer));
        ch.end(data, () => {
          ch.exit(0);
          ch.close();
        });
      }),
    );
  });
  server = srv;
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  return (srv.address() as net.AddressInfo).port;
}

async function receive(port: number, extra: Partial<ConnectConfig> & { channelWindow?: number }): Promise<string> {
  const client = new ssh2.Client();
  client.connect({ host: '127.0.0.1', port, username: 'u', ...extra });
  await once(client, 'ready');
  const hash = createHash('sha256');
  await new Promise<void>((resolve, reject) =>
    client.exec('send', (err, ch) => {
      if (err) return reject(err);
      ch.on('data', (d: Buffer) => hash.update(d));
      ch.on('close', () => resolve());
    }),
  );
  client.end();
  return hash.digest('hex');
}

describe('channel receive window', () => {
  const data = randomBytes(4 * MiB);
  const sha = createHash('sha256').update(data).digest('hex');

  it("a client's channelWindow is the window its channels offer and keep across adjustments", async () => {
    const seen: Seen[] = [];
    const port = await sender(data, seen);
    expect(await receive(port, { channelWindow: 64 * 1024 })).toBe(sha);
    expect(seen[0]!.initial).toBe(64 * 1024);
    expect(seen[0]!.max).toBeLessThanOrEqual(64 * 1024);
  });

  it('without it, ssh2 offers its 2 MiB; an invalid one (under a packet) is ignored', async () => {
    const seen: Seen[] = [];
    const port = await sender(data, seen);
    expect(await receive(port, {})).toBe(sha);
    expect(await receive(port, { channelWindow: 1000 })).toBe(sha);
    expect(seen.map((s) => s.initial)).toEqual([2 * MiB, 2 * MiB]);
  });

  it("the relay's upstream channels offer UPSTREAM_CHANNEL_WINDOW (512 KiB), and the data arrives intact", async () => {
    const seen: Seen[] = [];
    const port = await sender(data, seen);
    const target = new UpstreamSshTarget({
      host: '127.0.0.1',
      port,
      username: 'root',
      privateKey: generateUsableKeyPair('ed25519').private,
      hostKey: null,
      keepaliveMs: 0,
      keepaliveCountMax: 3,
      log: silentLogger,
    });
    const p = await target.start({ kind: 'exec', arg: 'send', pty: null, env: {} });
    const hash = createHash('sha256');
    const ended = once(p.stdout, 'end');
    p.stdout.on('data', (d: Buffer) => hash.update(d));
    await ended;
    target.close();
    expect(UPSTREAM_CHANNEL_WINDOW).toBe(512 * 1024);
    expect(seen[0]!.initial).toBe(UPSTREAM_CHANNEL_WINDOW);
    expect(seen[0]!.max).toBeLessThanOrEqual(UPSTREAM_CHANNEL_WINDOW);
    expect(hash.digest('hex')).toBe(sha);
  });
});
