import { describe, expect, it } from 'vitest';
import { MSG } from '@remotegpu/schema';
import type { Command } from '@remotegpu/schema';
import { silentLogger } from '../log.ts';
import { StateStore } from '../state/store.ts';
import { CommandDispatcher, CommandFailure } from './dispatcher.ts';

const cmd = (id: string, name: string, args: unknown = {}): Command => ({
  type: MSG.cmd,
  id,
  name,
  deadline: Date.now() + 60_000,
  args,
});

describe('command dispatcher', () => {
  it('runs a command id once, even when it arrives twice while running', async () => {
    const d = new CommandDispatcher(StateStore.open(':memory:'), silentLogger);
    let runs = 0;
    d.register('slow', async () => {
      runs++;
      await new Promise((r) => setTimeout(r, 20));
      return { runs };
    });
    const [a, b] = await Promise.all([d.handle(cmd('1', 'slow')), d.handle(cmd('1', 'slow'))]);
    expect(a).toEqual(b);
    expect(await d.handle(cmd('1', 'slow'))).toEqual(a);
    expect(runs).toBe(1);
  });

  it('stores final failures but lets retryable ones run again', async () => {
    const d = new CommandDispatcher(StateStore.open(':memory:'), silentLogger);
    let n = 0;
    d.register('flaky', async () => {
      n++;
      if (n === 1) throw new Error('socket hang up');
      return 'ok';
    });
    d.register('refuse', async () => {
      throw new CommandFailure('gpu_unavailable', 'no');
    });
    expect(await d.handle(cmd('f', 'flaky'))).toMatchObject({
      ok: false,
      error: { code: 'internal', retryable: true, message: 'flaky failed: socket hang up' },
    });
    expect(await d.handle(cmd('f', 'flaky'))).toEqual({ type: 'result', id: 'f', ok: true, data: 'ok' });
    expect(await d.handle(cmd('r', 'refuse'))).toMatchObject({
      ok: false,
      error: { code: 'gpu_unavailable', retryable: false },
    });
    expect(await d.handle(cmd('r', 'refuse'))).toMatchObject({ ok: false, error: { code: 'gpu_unavailable' } });
  });
});
