import { spawn, type ChildProcessByStdio } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { SftpSession, sftpFailure } from './sftp-session.ts';

// OpenSSH's own sftp-server on this machine (the tests' services install it) stands in for a target's.
const SERVER = '/usr/lib/openssh/sftp-server';
let proc: ChildProcessByStdio<Writable, Readable, null> | null = null;
let dir = '';

async function session(): Promise<SftpSession> {
  dir = mkdtempSync(join(tmpdir(), 'sftp-session-'));
  proc = spawn(SERVER, [], { stdio: ['pipe', 'pipe', 'inherit'] });
  return SftpSession.over(proc.stdout, proc.stdin);
}

afterEach(() => {
  proc?.kill();
  proc = null;
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('SftpSession over a bare sftp-server', () => {
  it('writes a file in pieces and reads it back to the end', async () => {
    const s = await session();
    const data = randomBytes(300_000);
    const w = await s.open(join(dir, 'up.bin'), 'w');
    await Promise.all([s.write(w, data.subarray(0, 100_000), 0), s.write(w, data.subarray(100_000), 100_000)]);
    await s.close(w);
    expect(readFileSync(join(dir, 'up.bin')).equals(data)).toBe(true);

    const r = await s.open(join(dir, 'up.bin'), 'r');
    expect((await s.fstat(r)).size).toBe(data.byteLength);
    const parts: Buffer[] = [];
    for (let pos = 0; ; ) {
      const b = await s.read(r, 32_768, pos);
      if (b.byteLength === 0) break;
      parts.push(b);
      pos += b.byteLength;
    }
    expect(Buffer.concat(parts).equals(data)).toBe(true);
    s.end();
  });

  it('says not_found for a missing file and forbidden for a refused one', async () => {
    const s = await session();
    const missing = await s.open(join(dir, 'nope'), 'r').catch((e: unknown) => e);
    expect(sftpFailure(missing)).toMatchObject({ status: 404, code: 'not_found' });
    // The tests run as root, whom sftp-server refuses nothing: the mapping of its PERMISSION_DENIED status is checked as such.
    expect(sftpFailure(Object.assign(new Error('Permission denied'), { code: 3 }))).toMatchObject({
      status: 403,
      code: 'forbidden',
    });
    expect(sftpFailure(new Error('boom'))).toMatchObject({ status: 502 });
    s.end();
  });
});
