import { describe, expect, it } from 'vitest';
import { createLogger } from './log.ts';

describe('logger', () => {
  it('writes JSON lines with fields, filters by level, and children add fields', () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      write: (l) => lines.push(l),
      now: () => new Date(0),
      fields: { host_id: 'h1' },
    });
    log.debug('hidden');
    log.child({ env_id: 'e1' }).warn('careful', { conn_id: 'c1', err: new Error('boom') });
    expect(lines.map((l) => JSON.parse(l))).toEqual([
      {
        ts: '1970-01-01T00:00:00.000Z',
        level: 'warn',
        msg: 'careful',
        host_id: 'h1',
        env_id: 'e1',
        conn_id: 'c1',
        err: { message: 'boom', name: 'Error' },
      },
    ]);
  });
});

describe('envelope', () => {
  it('fields cannot overwrite ts, level or msg', () => {
    const lines: string[] = [];
    const log = createLogger({ level: 'debug', write: (l) => lines.push(l), now: () => new Date(0) });
    log.warn('upstream ssh error', { level: 'client-authentication', msg: 'spoof', ts: 'x', env_id: 'e1' });
    expect(JSON.parse(lines[0]!)).toEqual({
      ts: '1970-01-01T00:00:00.000Z',
      level: 'warn',
      msg: 'upstream ssh error',
      env_id: 'e1',
    });
  });
});
