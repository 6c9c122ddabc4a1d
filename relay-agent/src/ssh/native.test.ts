// The native crypto check at start: present passes; missing fails loudly unless the operator allows the JS ciphers.
import { describe, expect, it } from 'vitest';
import { createLogger } from '../log.ts';
import { hasNativeCrypto, requireNativeCrypto } from './native.ts';

const lines: string[] = [];
const log = createLogger({ level: 'debug', write: (l) => lines.push(l) });

describe('requireNativeCrypto', () => {
  it('refuses to start without the binding, naming the fix', () => {
    expect(() => requireNativeCrypto(log, false, false)).toThrow(/sshcrypto\.node.*missing.*npm rebuild ssh2/s);
  });

  it('warns and goes on when the JavaScript ciphers are allowed', () => {
    lines.length = 0;
    expect(() => requireNativeCrypto(log, true, false)).not.toThrow();
    expect(lines.map((l) => JSON.parse(l) as { level: string }).some((l) => l.level === 'warn')).toBe(true);
  });

  it('finds the binding built in this checkout (npm ran ssh2 install script)', () => {
    expect(hasNativeCrypto()).toBe(true);
    expect(() => requireNativeCrypto(log, false)).not.toThrow();
  });
});
