// The platform-key install script, run by a real POSIX sh against a scratch $HOME.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { EnrolError, installScript } from './enrol.ts';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIFr9+iizavZlDdzo/5KuzSzVkG3JgeZGG3iUikPS0AxR remotegpu-relay';
const dirs: string[] = [];
const home = () => {
  const d = mkdtempSync(join(tmpdir(), 'enrol-home-'));
  dirs.push(d);
  return d;
};
const run = (h: string) =>
  execFileSync('sh', ['-c', installScript(KEY)], { env: { HOME: h, PATH: process.env.PATH }, encoding: 'utf8' }).trim();

afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

describe('installScript', () => {
  it('creates ~/.ssh/authorized_keys with the key, then leaves it alone', () => {
    const h = home();
    expect(run(h)).toBe('installed');
    expect(run(h)).toBe('present');
    expect(readFileSync(join(h, '.ssh/authorized_keys'), 'utf8')).toBe(`${KEY}\n`);
  });

  it('never joins the key to a last line without a newline', () => {
    const h = home();
    execFileSync('mkdir', ['-p', join(h, '.ssh')]);
    writeFileSync(join(h, '.ssh/authorized_keys'), 'ssh-rsa AAAAB3 admin@laptop');
    expect(run(h)).toBe('installed');
    expect(readFileSync(join(h, '.ssh/authorized_keys'), 'utf8')).toBe(`ssh-rsa AAAAB3 admin@laptop\n${KEY}\n`);
  });

  it('refuses a key line that could break out of the shell quoting', () => {
    expect(() => installScript("ssh-ed25519 AAAA'; rm -rf / #")).toThrow(EnrolError);
  });
});
