// Drift correction: what a row becomes when its relay reports the container's real state after an absence.
import type { tables } from '@remotegpu/schema';
import { describe, expect, it } from 'vitest';
import { driftPatch } from './host-events.ts';

type EnvRow = typeof tables.environments.$inferSelect;
const row = (status: EnvRow['status']) =>
  ({ id: 'e', status, container_id: 'c-old', target_ip: '172.31.0.2' }) as EnvRow;
const report = (state: string, exit_code: number | null = null) => ({
  environment_id: 'e',
  container_id: 'c-new',
  state,
  exit_code,
  ip: '172.31.0.9',
});

describe('driftPatch', () => {
  it('marks a vanished container failed, and leaves deleting rows alone', () => {
    expect(driftPatch(row('running'), undefined)).toMatchObject({ status: 'failed' });
    expect(driftPatch(row('stopped'), undefined)).toMatchObject({ status: 'failed' });
    expect(driftPatch(row('creating'), undefined)).toBeNull();
    expect(driftPatch(row('deleting'), report('exited', 1))).toBeNull();
  });

  it('follows the container: running again (new id and IP), stopped, or crashed with its exit code', () => {
    expect(driftPatch(row('stopped'), report('running'))).toEqual({
      status: 'running',
      status_reason: null,
      container_id: 'c-new',
      target_ip: '172.31.0.9',
    });
    expect(driftPatch(row('running'), report('exited', 0))).toMatchObject({ status: 'stopped' });
    expect(driftPatch(row('running'), report('exited', 137))).toMatchObject({
      status: 'failed',
      status_reason: expect.stringContaining('137'),
    });
    expect(driftPatch(row('creating'), report('created'))).toEqual({ status: 'stopped', container_id: 'c-new' });
    expect(driftPatch(row('running'), report('running'))).toBeNull();
  });
});
