// The managed block: idempotent, other lines untouched, removal byte-identical, paths with spaces quoted.
import SSHConfig from 'ssh-config';
import { describe, expect, it } from 'vitest';
import { END, START, lineDiff, managedBlock, withBlock, withoutBlock, type HostEntry } from './ssh-config.ts';

const host = (alias: string): HostEntry => ({
  alias,
  hostName: '127.0.0.1',
  port: 50001,
  user: 'root',
  identityFile: '/home/a b/.config/remotegpu/id_ed25519',
  knownHostsFile: '/home/a b/.config/remotegpu/known_hosts',
});
const original = 'Host *\n  ServerAliveInterval 30\n\n# mine\nHost box\n  HostName 10.0.0.1'; // no final newline

describe('config-ssh block', () => {
  it('goes first, is idempotent, and --remove restores the file byte for byte', () => {
    const block = managedBlock([host('rg-train'), host('rg-eval')]);
    const once = withBlock(original, block);
    expect(once.startsWith(`${START}\n`)).toBe(true);
    expect(once.endsWith(original)).toBe(true);
    expect(withBlock(once, block)).toBe(once);
    expect(withoutBlock(once)).toBe(original);
    expect(withoutBlock(withBlock('', block))).toBe('');
    expect(withoutBlock(original)).toBe(original);
  });

  it('what ssh reads from it: one Host per environment with its options, quoted paths', () => {
    const cfg = SSHConfig.parse(withBlock(original, managedBlock([host('rg-train')])));
    const computed = cfg.compute('rg-train');
    expect(computed).toMatchObject({
      HostName: '127.0.0.1',
      Port: '50001',
      User: 'root',
      IdentitiesOnly: 'yes',
      HostKeyAlias: 'rg-train',
    });
    expect(computed.IdentityFile).toEqual(['/home/a b/.config/remotegpu/id_ed25519']);
    expect(computed.UserKnownHostsFile).toBe('/home/a b/.config/remotegpu/known_hosts');
    expect(managedBlock([host('rg-train')])).toContain('IdentityFile "/home/a b/.config/remotegpu/id_ed25519"');
    expect(managedBlock([host('rg-train')])).toContain('UserKnownHostsFile "/home/a b/.config/remotegpu/known_hosts"');
  });

  it('replaces a block in place where the renter moved it, and refuses a block without its end', () => {
    const moved = `Host a\n  User x\n\n${managedBlock([host('rg-old')])}Host b\n  User y\n`;
    const next = withBlock(moved, managedBlock([host('rg-new')]));
    expect(next).toMatch(/^Host a\n {2}User x\n\n# -+START/);
    expect(next).toContain('Host rg-new');
    expect(next).not.toContain('rg-old');
    expect(next.endsWith(`${END}\nHost b\n  User y\n`)).toBe(true);
    expect(() => withBlock(`${START}\nHost x\n`, managedBlock([]))).toThrow(/end marker/);
  });

  it('a dry run shows added and removed lines only', () => {
    const d = lineDiff('a\nb\nc\n', 'a\nB\nc\nd\n', 'cfg');
    expect(d).toBe('--- cfg\n+++ cfg\n+B\n-b\n+d\n');
    expect(lineDiff('x', 'x', 'cfg')).toBe('');
  });
});
