// An SFTP client over any byte pipe (a TargetProcess's stdin/stdout): ssh2's own SFTP protocol class, fed without an SSH channel.
import { createRequire } from 'node:module';
import type { Readable, Writable } from 'node:stream';
import type { SFTPWrapper, Stats } from 'ssh2';

type SftpCore = SFTPWrapper & { push(data: Buffer | null): void; _init(): void };
type SftpCtor = new (client: unknown, chanInfo: unknown, cfg: unknown) => SftpCore;

// ssh2 1.17 (pinned) exposes its protocol class only by path; it talks to a "channel" through the two calls faked below.
const load = createRequire(import.meta.url);
const { SFTP } = load('ssh2/lib/protocol/SFTP.js') as { SFTP: SftpCtor };

/** SFTP status codes (draft-ietf-secsh-filexfer-02 §7) that say something to the renter. */
const SFTP_STATUS = { eof: 1, noSuchFile: 2, permissionDenied: 3 } as const;

/** How long the server may take to answer INIT before we give up on it. */
const VERSION_TIMEOUT_MS = 15_000;

export class SftpSession {
  private constructor(
    private readonly core: SftpCore,
    private readonly stdin: Writable,
  ) {}

  /** Speaks SFTP v3 over `stdout`/`stdin`; resolves once the server answered INIT with its VERSION. */
  static async over(stdout: Readable, stdin: Writable): Promise<SftpSession> {
    const outgoing = { id: 0, state: 'open', window: Number.POSITIVE_INFINITY, packetSize: Number.POSITIVE_INFINITY };
    const protocol = {
      _remoteIdentRaw: '',
      channelData: (_id: number, data: Buffer) => {
        if (!stdin.destroyed && !stdin.writableEnded) stdin.write(data);
      },
      channelClose: () => {
        outgoing.state = 'closed';
        stdin.end();
      },
    };
    const core = new SFTP({ _protocol: protocol }, { type: 'sftp', incoming: {}, outgoing }, {});
    stdout.on('data', (chunk: Buffer) => core.push(chunk));
    stdout.on('end', () => core.push(null));
    stdout.on('error', () => core.push(null));
    stdin.on('error', () => undefined); // surfaces as the server's end, and so as failed requests
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => fail(new Error('the SFTP server did not answer')), VERSION_TIMEOUT_MS);
      const fail = (err: Error) => {
        clearTimeout(timer);
        reject(err);
      };
      core.once('ready', () => {
        clearTimeout(timer);
        resolve();
      });
      core.once('error', fail);
      core.once('end', () => fail(new Error('the SFTP server closed before answering')));
      core._init();
    });
    core.on('error', () => undefined); // later failures reach each request's callback
    return new SftpSession(core, stdin);
  }

  open(path: string, mode: 'r' | 'w'): Promise<Buffer> {
    return new Promise((resolve, reject) => this.core.open(path, mode, (err, h) => (err ? reject(err) : resolve(h))));
  }

  fstat(handle: Buffer): Promise<Stats> {
    return new Promise((resolve, reject) => this.core.fstat(handle, (err, st) => (err ? reject(err) : resolve(st))));
  }

  /** Reads up to `length` bytes at `position`; 0 bytes means end of file. */
  read(handle: Buffer, length: number, position: number): Promise<Buffer> {
    const buf = Buffer.allocUnsafe(length);
    return new Promise((resolve, reject) =>
      this.core.read(handle, buf, 0, length, position, (err, n) => {
        if (err && (err as { code?: unknown }).code === SFTP_STATUS.eof) resolve(buf.subarray(0, 0));
        else if (err) reject(err);
        else resolve(buf.subarray(0, n));
      }),
    );
  }

  write(handle: Buffer, data: Buffer, position: number): Promise<void> {
    return new Promise((resolve, reject) =>
      this.core.write(handle, data, 0, data.byteLength, position, (err) => (err ? reject(err) : resolve())),
    );
  }

  close(handle: Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.core.close(handle, (err) => (err ? reject(err) : resolve())));
  }

  /** Ends the session: the server sees EOF on its stdin and exits. */
  end(): void {
    this.core.end();
    if (!this.stdin.writableEnded) this.stdin.end();
  }
}

/** What an SFTP failure means to the client: 404 for a missing path, 403 for a refused one, else 502. */
export function sftpFailure(err: unknown): { status: number; code: string; message: string } {
  const code = (err as { code?: unknown } | null)?.code;
  const message = err instanceof Error ? err.message : String(err);
  if (code === SFTP_STATUS.noSuchFile) return { status: 404, code: 'not_found', message: 'no such file or directory' };
  if (code === SFTP_STATUS.permissionDenied) return { status: 403, code: 'forbidden', message: 'permission denied' };
  return { status: 502, code: 'file_transfer_failed', message: `the environment's SFTP server failed: ${message}` };
}
