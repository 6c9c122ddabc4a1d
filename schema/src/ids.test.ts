import { describe, expect, it } from 'vitest';
import {
  appHostName,
  generateEnvironmentId,
  generatePassword,
  parseAppHost,
  randomString,
  sshHostName,
} from './ids.ts';

describe('generators', () => {
  it('environment ids are 16 chars of [a-z0-9] and do not repeat over 100,000', () => {
    const seen = new Set<string>();
    for (let i = 0; i < 100_000; i++) {
      const id = generateEnvironmentId();
      expect(id).toMatch(/^[a-z0-9]{16}$/);
      seen.add(id);
    }
    expect(seen.size).toBe(100_000);
  });

  it('passwords are 32 alphanumerics, using the whole alphabet', () => {
    const chars = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const p = generatePassword();
      expect(p).toMatch(/^[A-Za-z0-9]{32}$/);
      for (const c of p) chars.add(c);
    }
    expect(chars.size).toBe(62);
  });

  it('draws from crypto.getRandomValues, not Math.random', () => {
    const original = Math.random;
    Math.random = () => {
      throw new Error('Math.random must not be used');
    };
    try {
      expect(generatePassword()).toHaveLength(32);
      expect(generateEnvironmentId()).toHaveLength(16);
    } finally {
      Math.random = original;
    }
  });

  it('is not biased towards the first letters of the alphabet', () => {
    const counts = new Map<string, number>();
    const s = randomString(200_000, 'abc');
    for (const c of s) counts.set(c, (counts.get(c) ?? 0) + 1);
    for (const n of counts.values()) expect(Math.abs(n / 200_000 - 1 / 3)).toBeLessThan(0.01);
  });
});

describe('host names', () => {
  const id = '6hiflzwte2xnkroq';
  it('builds the seed shapes', () => {
    expect(sshHostName(id, 'x-gpu.com')).toBe('6hiflzwte2xnkroq.ssh.x-gpu.com');
    expect(appHostName(id, 8888, 'container.x-gpu.com')).toBe('6hiflzwte2xnkroq-8888.container.x-gpu.com');
  });

  it('parses its own app host names, with or without a listen port', () => {
    expect(parseAppHost(appHostName(id, 8888, 'container.x-gpu.com'), 'container.x-gpu.com')).toEqual({
      envId: id,
      port: 8888,
    });
    expect(parseAppHost(`${id}-6006.container.localhost:8787`, 'container.localhost')).toEqual({
      envId: id,
      port: 6006,
    });
    expect(parseAppHost(`${id}-65535.container.localhost`, 'container.localhost')?.port).toBe(65535);
    expect(parseAppHost(`${id}-1.container.localhost`, 'container.localhost')?.port).toBe(1);
  });

  it.each([
    ['wrong length', '6hiflzwte2xnkro-8888.container.x-gpu.com'],
    ['too long', '6hiflzwte2xnkroqq-8888.container.x-gpu.com'],
    ['upper case', '6HIFLZWTE2XNKROQ-8888.container.x-gpu.com'],
    ['port 0', '6hiflzwte2xnkroq-0.container.x-gpu.com'],
    ['port > 65535', '6hiflzwte2xnkroq-65536.container.x-gpu.com'],
    ['leading zero', '6hiflzwte2xnkroq-08888.container.x-gpu.com'],
    ['no port', '6hiflzwte2xnkroq.container.x-gpu.com'],
    ['extra label', 'a.6hiflzwte2xnkroq-8888.container.x-gpu.com'],
    ['other domain', '6hiflzwte2xnkroq-8888.container.evil.com'],
    ['suffix trick', '6hiflzwte2xnkroq-8888.container.x-gpu.com.evil.com'],
    ['ssh name', '6hiflzwte2xnkroq.ssh.x-gpu.com'],
    ['bare domain', 'x-gpu.com'],
    ['bad listen port', '6hiflzwte2xnkroq-8888.container.x-gpu.com:abc'],
    ['underscore', '6hiflzwte2xnkro_-8888.container.x-gpu.com'],
    ['empty', ''],
  ])('rejects %s', (_why, host) => {
    expect(parseAppHost(host, 'container.x-gpu.com')).toBeNull();
  });

  it('puts apps on a registrable domain of their own when the operator asks', () => {
    expect(appHostName(id, 8888, 'gpu-apps.net')).toBe('6hiflzwte2xnkroq-8888.gpu-apps.net');
    expect(parseAppHost('6hiflzwte2xnkroq-8888.gpu-apps.net', 'gpu-apps.net')).toEqual({ envId: id, port: 8888 });
    expect(parseAppHost('6hiflzwte2xnkroq-8888.container.x-gpu.com', 'gpu-apps.net')).toBeNull();
    expect(parseAppHost('x.6hiflzwte2xnkroq-8888.gpu-apps.net', 'gpu-apps.net')).toBeNull();
  });
});
