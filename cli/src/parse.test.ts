// The CLI's pure parts: exit codes from API answers, remote paths, host aliases, pinned host keys, the locale.
import { describe, expect, it } from 'vitest';
import { remoteSpec } from './commands/ssh.ts';
import type { ApiClient } from './api.ts';
import { hostAlias, pickEnvironment, waitCreated } from './envs.ts';
import { EXIT, exitCodeFor } from './errors.ts';
import { isChinese } from './i18n.ts';
import { pinnedLines } from './ssh/known-hosts.ts';
import type { Environment } from '@remotegpu/schema';

describe('CLI parsing', () => {
  it('maps API answers to the documented exit codes', () => {
    expect(exitCodeFor(401, 'unauthorized')).toBe(EXIT.auth);
    expect(exitCodeFor(403, 'forbidden')).toBe(EXIT.auth);
    expect(exitCodeFor(404, 'not_found')).toBe(EXIT.notFound);
    for (const code of ['no_capacity', 'gpu_unavailable', 'machine_unavailable', 'no_ports'])
      expect(exitCodeFor(409, code)).toBe(EXIT.noCapacity);
    expect(exitCodeFor(503, 'host_offline')).toBe(EXIT.noCapacity);
    expect(exitCodeFor(422, 'validation_failed')).toBe(EXIT.usage);
    expect(exitCodeFor(409, 'invalid_state')).toBe(EXIT.other);
    expect(exitCodeFor(500, 'internal')).toBe(EXIT.other);
  });

  it('tells remote paths from local ones', () => {
    expect(remoteSpec('rg-train:/root/x')).toEqual(['rg-train', '/root/x']);
    expect(remoteSpec('train:')).toEqual(['train', '']);
    expect(remoteSpec('./a:b')).toBeNull();
    expect(remoteSpec('/tmp/x')).toBeNull();
    expect(remoteSpec(':x')).toBeNull();
  });

  it('names hosts rg-<name>, by id when names clash or have no usable character', () => {
    const env = (id: string, name: string) => ({ id, name }) as Environment;
    const all = [env('a'.repeat(16), 'Train 1'), env('b'.repeat(16), 'train-1'), env('c'.repeat(16), '训练')];
    expect(hostAlias(all[0]!, all)).toBe(`rg-${'a'.repeat(16)}`);
    expect(hostAlias(all[2]!, all)).toBe(`rg-${'c'.repeat(16)}`);
    expect(hostAlias(env('d'.repeat(16), 'Eval.v2'), [])).toBe('rg-eval.v2');
    expect(pickEnvironment(all, 'train-1').id).toBe('b'.repeat(16));
    expect(pickEnvironment(all, `rg-${'c'.repeat(16)}`).name).toBe('训练');
    expect(() => pickEnvironment(all, 'nope')).toThrow(expect.objectContaining({ exitCode: EXIT.notFound }));
    const twins = [env('e'.repeat(16), 'x'), env('f'.repeat(16), 'x')];
    expect(() => pickEnvironment(twins, 'x')).toThrow(expect.objectContaining({ exitCode: EXIT.usage }));
  });

  it('pins host keys per alias, leaving the other aliases alone', () => {
    const a = pinnedLines('', 'rg-a', ['ssh-ed25519 AAAA1 comment', 'rsa-sha2-512 BBBB']);
    expect(a).toBe('rg-a ssh-ed25519 AAAA1\nrg-a rsa-sha2-512 BBBB\n');
    const b = pinnedLines(a, 'rg-b', ['ssh-ed25519 CCCC']);
    expect(pinnedLines(b, 'rg-a', ['ssh-ed25519 DDDD'])).toBe('rg-b ssh-ed25519 CCCC\nrg-a ssh-ed25519 DDDD\n');
  });

  it('create follows an environment through `creating`, and a failure is an error with its reason', async () => {
    const env = (status: string, status_reason: string | null = null) =>
      ({ id: 'a'.repeat(16), name: 'train', status, status_reason }) as Environment;
    const answers = (...list: Environment[]): ApiClient => ({
      url: 'http://x',
      call: async <T>() => ({ environment: list.shift() }) as T,
      team: async () => null,
    });
    const o = { timeoutMs: 60_000, intervalMs: 1, sleep: async () => {} };
    expect((await waitCreated(answers(env('creating'), env('running')), env('creating'), o)).status).toBe('running');
    await expect(waitCreated(answers(env('failed', 'pull: no such image')), env('creating'), o)).rejects.toThrow(
      'train failed to start: pull: no such image',
    );
    expect((await waitCreated(answers(), env('running'), o)).status).toBe('running');
  });

  it('speaks Chinese when the locale asks for it', () => {
    expect(isChinese({ LANG: 'zh_CN.UTF-8' })).toBe(true);
    expect(isChinese({ LC_ALL: 'en_US.UTF-8', LANG: 'zh_CN.UTF-8' })).toBe(false);
    expect(isChinese({ LANG: 'C.UTF-8' })).toBe(false);
  });
});
