// Which requests need the bundle, how ldd output is read, and what the bundle's archive holds.
import { describe, expect, it } from 'vitest';
import tar from 'tar-stream';
import { collectBundle, parseLdd, tarBundle, toolFor } from './tool-bundle.ts';

describe('toolFor', () => {
  it('names the tool that scp, rsync and sftp clients run on the server', () => {
    expect(toolFor('subsystem', 'sftp')).toBe('sftp-server');
    expect(toolFor('exec', 'scp -t -- /tmp/')).toBe('scp');
    expect(toolFor('exec', 'scp -v -r -p -f -- a b')).toBe('scp');
    expect(toolFor('exec', 'rsync --server -vlogDtpre.iLsfxCIvu . /tmp/x')).toBe('rsync');
    expect(toolFor('exec', 'rsync --server --sender -e.LsfxCIvu . /tmp/x')).toBe('rsync');
  });
  it('leaves every other command alone', () => {
    expect(toolFor('exec', 'ls -t')).toBeNull();
    expect(toolFor('exec', 'scp a b')).toBeNull();
    expect(toolFor('exec', 'echo rsync --server')).toBeNull();
    expect(toolFor('shell', '')).toBeNull();
    expect(toolFor('subsystem', 'other')).toBeNull();
  });
});

const LDD = `/usr/bin/rsync:
\tlinux-vdso.so.1 (0x00007ffd)
\tlibz.so.1 => /lib/x86_64-linux-gnu/libz.so.1 (0x00007f75)
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f75)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f75)
/usr/bin/scp:
\tlibc.so.6 => /lib/x86_64-linux-gnu/libc.so.6 (0x00007f58)
\t/lib64/ld-linux-x86-64.so.2 (0x00007f58)
`;

it('parseLdd finds the libraries and the loader, not the file headers', () => {
  expect(parseLdd(LDD)).toEqual({
    libs: ['/lib/x86_64-linux-gnu/libz.so.1', '/lib/x86_64-linux-gnu/libc.so.6'],
    loader: '/lib64/ld-linux-x86-64.so.2',
  });
});

it('the archive holds wrappers that run each tool with the bundled loader and libraries', async () => {
  const files = new Map([
    ['/usr/bin/rsync', 'R'],
    ['/usr/bin/scp', 'S'],
    ['/lib/x86_64-linux-gnu/libz.so.1', 'z'],
    ['/lib/x86_64-linux-gnu/libc.so.6', 'c'],
    ['/lib64/ld-linux-x86-64.so.2', 'ld'],
  ]);
  const b = await collectBundle(
    async () => LDD,
    async (p) => (files.has(p) ? Buffer.from(files.get(p)!) : null),
  );
  expect(b.tools).toEqual(['scp', 'rsync']);
  const entries: Record<string, string> = {};
  const ex = tar.extract();
  ex.on('entry', (hd, stream, next) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('end', () => {
      entries[hd.name] = `${(hd.mode ?? 0).toString(8)} ${Buffer.concat(chunks).toString()}`;
      next();
    });
  });
  const done = new Promise((r) => ex.on('finish', r));
  ex.end(await tarBundle(b.files));
  await done;
  expect(entries['.remotegpu/bin/rsync']).toBe(
    '755 #!/bin/sh\nexec /.remotegpu/lib/ld-linux-x86-64.so.2 --library-path /.remotegpu/lib /.remotegpu/libexec/rsync "$@"\n',
  );
  expect(entries['.remotegpu/libexec/scp']).toBe('755 S');
  expect(entries['.remotegpu/lib/libz.so.1']).toBe('755 z');
  expect(Object.keys(entries).filter((n) => !n.startsWith('.remotegpu/'))).toEqual([]);
});
