import { describe, expect, it } from 'vitest';
import { OutputRing } from './ring.ts';

describe('the replay ring of a terminal', () => {
  it('keeps everything under its size, in order', () => {
    const r = new OutputRing(16);
    r.push(Buffer.from('hello '));
    r.push(Buffer.from('world'));
    expect(r.snapshot().toString()).toBe('hello world');
  });

  it('keeps only the last bytes once full, across chunk boundaries', () => {
    const r = new OutputRing(8);
    r.push(Buffer.from('0123456789'));
    r.push(Buffer.from('abc'));
    expect(r.snapshot().toString()).toBe('56789abc');
  });

  it('never starts a replay inside a UTF-8 character (CJK stays readable)', () => {
    const r = new OutputRing(7);
    r.push(Buffer.from('x你好吗', 'utf8')); // 1 + 3 × 3 bytes: the cut falls inside 你
    expect(r.snapshot().toString('utf8')).toBe('好吗');
  });
});
