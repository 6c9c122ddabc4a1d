import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  FRAME,
  INITIAL_CREDIT,
  ResponseHead,
  decodeFrame,
  decodeHead,
  type AuditRecord,
  type Route,
} from '@remotegpu/schema';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { Logger } from '../contracts.ts';
import { FileStream, type OpenSftp } from './file-stream.ts';

// The machine's own OpenSSH sftp-server stands in for the target's; the frames the stream sends are collected as the edge would see them.
const SERVER = '/usr/lib/openssh/sftp-server';
const MiB = 1024 * 1024;
const quiet: Logger = { debug() {}, info() {}, warn() {}, error() {}, child: () => quiet };
const route = { environment_id: 'abcdefghijklmnop', type: 'container', ssh_username: 'root' } as Route;
const procs: ChildProcess[] = [];
const dir = mkdtempSync(join(tmpdir(), 'file-stream-'));
const openSftp: OpenSftp = async () => {
  const p = spawn(SERVER, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  procs.push(p);
  return { stdin: p.stdin, stdout: p.stdout, close: () => p.kill() };
};
const settle = (ms = 300) => new Promise((r) => setTimeout(r, ms));

afterEach(() => {
  for (const p of procs.splice(0)) p.kill();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function harness() {
  const frames: { kind: number; payload: Uint8Array }[] = [];
  const audit: AuditRecord[] = [];
  const send = (f: Uint8Array) => {
    const d = decodeFrame(f);
    if (d.ok) frames.push({ kind: d.frame.kind, payload: d.frame.payload.slice() });
    return true;
  };
  const dataBytes = () => frames.filter((f) => f.kind === FRAME.data).reduce((n, f) => n + f.payload.byteLength, 0);
  return { frames, audit, send, dataBytes, sink: { record: (e: AuditRecord) => audit.push(e) } };
}

describe('FileStream', () => {
  it('downloads no further than the credit the edge granted, and finishes when granted the rest', async () => {
    const data = randomBytes(10 * MiB);
    writeFileSync(join(dir, 'big.bin'), data);
    const h = harness();
    const s = new FileStream(1, h.send, {
      route,
      file: { op: 'get', path: join(dir, 'big.bin') },
      clientIp: '203.0.113.9',
      audit: h.sink,
      log: quiet,
    });
    s.start(openSftp);
    await expect.poll(() => h.dataBytes()).toBe(INITIAL_CREDIT);
    await settle(300);
    const head = decodeHead(ResponseHead, h.frames[0]!.payload);
    expect(head.ok && head.value.headers).toContainEqual(['content-length', String(data.byteLength)]);
    expect(h.dataBytes()).toBe(INITIAL_CREDIT); // the rest waits: nothing is read ahead past a bounded window
    while (!h.frames.some((f) => f.kind === FRAME.end)) {
      s.credit(INITIAL_CREDIT);
      await settle(100);
    }
    const body = Buffer.concat(h.frames.filter((f) => f.kind === FRAME.data).map((f) => f.payload));
    expect(createHash('sha256').update(body).digest('hex')).toBe(createHash('sha256').update(data).digest('hex'));
    expect(h.audit).toEqual([
      expect.objectContaining({
        event: 'file.download',
        status: 'success',
        source_ip: '203.0.113.9',
        detail: expect.objectContaining({ bytes: data.byteLength }),
      }),
    ]);
  });

  it('uploads what arrives before the file is open too, returns credit as writes land, and answers 201', async () => {
    const h = harness();
    const path = join(dir, 'up.bin');
    const s = new FileStream(3, h.send, {
      route,
      file: { op: 'put', path },
      clientIp: null,
      audit: h.sink,
      log: quiet,
    });
    s.start(openSftp);
    const parts = [randomBytes(MiB), randomBytes(MiB), randomBytes(123)];
    for (const p of parts) s.data(p); // before the SFTP session is up: queued
    s.end();
    await expect.poll(() => h.frames.some((f) => f.kind === FRAME.head)).toBe(true);
    expect(readFileSync(path).equals(Buffer.concat(parts))).toBe(true);
    const credit = h.frames.filter((f) => f.kind === FRAME.credit);
    expect(credit.length).toBeGreaterThan(0);
    const head = h.frames.find((f) => f.kind === FRAME.head)!;
    expect(head).toBeDefined();
    expect(Buffer.from(head.payload).toString()).toContain('"status":201');
    expect(h.audit[0]).toMatchObject({ event: 'file.upload', status: 'success' });
  });

  it('stops reading and closes the SFTP server when the edge resets the stream', async () => {
    writeFileSync(join(dir, 'mid.bin'), randomBytes(8 * MiB));
    const h = harness();
    const s = new FileStream(5, h.send, {
      route,
      file: { op: 'get', path: join(dir, 'mid.bin') },
      clientIp: null,
      audit: h.sink,
      log: quiet,
    });
    s.start(openSftp);
    await expect.poll(() => h.dataBytes()).toBeGreaterThan(0);
    s.abort();
    await expect.poll(() => procs[0]!.killed).toBe(true);
    expect(h.audit[0]).toMatchObject({ event: 'file.download', status: 'failure' });
    expect(s.closed).toBe(true);
  });
});
