// One tunnelled file stream: `get` reads a file on the target over SFTP into the stream under the edge's credit; `put` writes the stream's body into one.
import {
  CREDIT_GRANT_BATCH,
  FILE_AUDIT,
  FRAME,
  RESET,
  creditPayload,
  encodeFrame,
  type FileOpen,
  type Route,
} from '@remotegpu/schema';
import type { AuditSink, Logger } from '../contracts.ts';
import { StreamOut, type SendFrame } from '../apps/frame-out.ts';
import type { Readable, Writable } from 'node:stream';
import { SftpSession, sftpFailure } from './sftp-session.ts';

/** A running SFTP server on the target: its stdio, and how to end it (and what it ran on). */
export interface SftpPipe {
  stdin: Writable;
  stdout: Readable;
  close(): void;
}
/** Opens the SFTP subsystem on an environment's target, as the SSH gateway would for `sftp`. */
export type OpenSftp = (route: Route) => Promise<SftpPipe>;

/** Reads in flight while downloading: enough to hide a `docker exec` or upstream SSH round trip, bounded memory. */
const READ_CHUNK = 32 * 1024;
const READS_IN_FLIGHT = 32;

export interface FileStreamContext {
  route: Route;
  file: FileOpen;
  clientIp: string | null;
  audit: AuditSink;
  log: Logger;
}

export class FileStream {
  private readonly out: StreamOut;
  private proc: SftpPipe | null = null;
  private sftp: SftpSession | null = null;
  private handle: Buffer | null = null;
  /** Upload: body bytes queued until the file is open, writes not yet acknowledged, credit owed back. */
  private queued: Buffer[] = [];
  private inFlight = 0;
  private writeError: unknown = null;
  private drained: (() => void) | null = null;
  private headSent = false;
  private ungranted = 0;
  private bodyEnded = false;
  private bytes = 0;
  private stalled = false;
  private pump: (() => void) | null = null;
  private done = false;

  constructor(
    readonly id: number,
    private readonly send: SendFrame,
    private readonly ctx: FileStreamContext,
  ) {
    this.out = new StreamOut(
      id,
      send,
      () => {
        this.stalled = true;
      },
      () => {
        this.stalled = false;
        this.pump?.();
      },
    );
  }

  get closed(): boolean {
    return this.out.closed;
  }

  start(openSftp: OpenSftp): void {
    void this.run(openSftp).catch((err: unknown) => this.fail(err));
  }

  private async run(openSftp: OpenSftp): Promise<void> {
    this.proc = await openSftp(this.ctx.route);
    this.sftp = await SftpSession.over(this.proc.stdout, this.proc.stdin);
    if (this.done) return this.release();
    const { op, path } = this.ctx.file;
    this.handle = await this.sftp.open(path, op === 'get' ? 'r' : 'w');
    if (op === 'get') await this.download(path);
    else {
      for (const chunk of this.queued.splice(0)) this.write(chunk);
      if (this.bodyEnded) await this.finishUpload();
    }
  }

  private async download(path: string): Promise<void> {
    const sftp = this.sftp!;
    const handle = this.handle!;
    const st = await sftp.fstat(handle);
    if (!st.isFile()) return this.answerError(400, 'not_a_file', `${path} is not a regular file`);
    const size = st.size;
    const name = path.slice(path.lastIndexOf('/') + 1);
    this.headSent = true;
    this.out.head({
      status: 200,
      headers: [
        ['content-type', 'application/octet-stream'],
        ['content-length', String(size)],
        ['content-disposition', `attachment; filename*=UTF-8''${encodeURIComponent(name)}`],
        ['cache-control', 'no-store'],
      ],
      websocket: false,
    });
    // Reads go out in order and are delivered in order; a short one is followed by a read of its remainder.
    const queue: { pos: number; len: number; got: Promise<Buffer> }[] = [];
    let next = 0;
    await new Promise<void>((resolve, reject) => {
      const issue = (pos: number, len: number) => ({ pos, len, got: sftp.read(handle, len, pos) });
      const fill = () => {
        while (!this.stalled && !this.done && queue.length < READS_IN_FLIGHT && next < size) {
          const len = Math.min(READ_CHUNK, size - next);
          queue.push(issue(next, len));
          next += len;
        }
      };
      let draining = false;
      this.pump = () => {
        if (draining) return;
        draining = true;
        void (async () => {
          fill();
          while (queue.length && !this.done) {
            const head = queue[0]!;
            const buf = await head.got;
            queue.shift();
            if (buf.byteLength === 0) break; // shrank under us: the client sees a short body
            this.bytes += buf.byteLength;
            this.out.data(buf);
            if (buf.byteLength < head.len) queue.unshift(issue(head.pos + buf.byteLength, head.len - buf.byteLength));
            fill();
            if (this.stalled) return;
          }
          this.out.end();
          this.finish('success');
          resolve();
        })()
          .catch(reject)
          .finally(() => {
            draining = false;
          });
      };
      this.pump();
    });
  }

  /** Upload body bytes; the credit for them returns once the SFTP server acknowledged their write. */
  data(chunk: Uint8Array): void {
    if (this.done) return;
    const buf = Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    if (!this.handle) this.queued.push(buf);
    else this.write(buf);
  }

  private write(buf: Buffer): void {
    const at = this.bytes;
    this.bytes += buf.byteLength;
    this.inFlight++;
    this.sftp!.write(this.handle!, buf, at)
      .then(
        () => this.granted(buf.byteLength),
        (err: unknown) => {
          this.writeError ??= err;
          this.fail(err);
        },
      )
      .finally(() => {
        if (--this.inFlight === 0) this.drained?.();
      });
  }

  private granted(n: number): void {
    this.ungranted += n;
    if (this.ungranted < CREDIT_GRANT_BATCH || this.done) return;
    this.send(encodeFrame(FRAME.credit, this.id, creditPayload(this.ungranted)));
    this.ungranted = 0;
  }

  end(): void {
    this.bodyEnded = true;
    if (this.handle && this.ctx.file.op === 'put') void this.finishUpload().catch((err: unknown) => this.fail(err));
  }

  private async finishUpload(): Promise<void> {
    if (this.inFlight > 0) await new Promise<void>((resolve) => (this.drained = resolve));
    if (this.writeError || this.done) return;
    await this.sftp!.close(this.handle!);
    this.handle = null;
    this.answer(201, { path: this.ctx.file.path, bytes: this.bytes });
    this.finish('success');
  }

  credit(n: number): void {
    this.out.grant(n);
  }

  private answer(status: number, body: unknown): void {
    this.headSent = true;
    this.out.head({ status, headers: [['content-type', 'application/json']], websocket: false });
    this.out.data(Buffer.from(JSON.stringify(body)));
    this.out.end();
  }

  private answerError(status: number, code: string, message: string): void {
    this.answer(status, { error: { code, message } });
    this.finish('failure', message);
  }

  private fail(err: unknown): void {
    if (this.done) return;
    const f = sftpFailure(err);
    // Before the head went out the client gets the error as JSON; during a download only a reset can say it.
    if (this.headSent) {
      this.out.reset(RESET.error, f.message);
      this.finish('failure', f.message);
    } else this.answerError(f.status, f.code, f.message);
  }

  /** One audit event per transfer, then the SFTP server goes away. */
  private finish(status: 'success' | 'failure', reason?: string): void {
    if (this.done) return;
    this.done = true;
    const { route, file, clientIp } = this.ctx;
    this.ctx.audit.record({
      timestamp: new Date().toISOString(),
      environment_id: route.environment_id,
      type: route.type,
      event: file.op === 'get' ? FILE_AUDIT.download : FILE_AUDIT.upload,
      source_ip: clientIp,
      username: route.ssh_username || 'root',
      status,
      detail: { path: file.path, bytes: this.bytes, source: 'web', ...(reason ? { reason } : {}) },
    });
    const log = status === 'success' ? this.ctx.log.info : this.ctx.log.warn;
    log.call(this.ctx.log, `file ${file.op} ${status}`, { path: file.path, bytes: this.bytes, reason });
    this.release();
  }

  private release(): void {
    this.sftp?.end();
    this.proc?.close();
  }

  /** The edge gave up (client gone) or the data connection dropped. */
  abort(reason?: string): void {
    this.out.closed = true;
    if (!this.done) this.finish('failure', reason ?? 'the client went away');
  }
}
