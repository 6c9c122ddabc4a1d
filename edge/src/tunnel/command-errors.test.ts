// Relay command failures as the API reports them: one table for every operation.
import { COMMAND_ERROR } from '@remotegpu/schema';
import { describe, expect, it } from 'vitest';
import { commandError } from './command-errors.ts';

describe('commandError', () => {
  it.each([
    [COMMAND_ERROR.hostOffline, 'stop', 503, 'host_offline'],
    [COMMAND_ERROR.timeout, 'enrol', 504, 'enrol_timeout'],
    [COMMAND_ERROR.gpuUnavailable, 'create', 409, 'gpu_unavailable'],
    [COMMAND_ERROR.enrolAuthFailed, 'enrol', 422, 'enrol_auth_failed'],
    [COMMAND_ERROR.enrolVerifyFailed, 'enrol', 502, 'enrol_verify_failed'],
    [COMMAND_ERROR.internal, 'restart', 502, 'restart_failed'],
    ['something_new', 'delete', 502, 'delete_failed'],
  ])('%s during %s → %i %s', (code, op, status, apiCode) => {
    const e = commandError(op, { code, message: 'what the relay said' });
    expect(e.status).toBe(status);
    expect(e.code).toBe(apiCode);
    expect(e.message).toContain('what the relay said');
  });
});
