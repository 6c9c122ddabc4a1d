// The one place where a relay command's failure becomes an API error: which status and which code the client sees.
import { COMMAND_ERROR, type CommandError } from '@remotegpu/schema';
import { ApiError } from '../errors.ts';

/**
 * Maps a failed command outcome of operation `op` (e.g. `create`, `stop`, `enrol`) to an ApiError:
 * 503 `host_offline` (the relay is away: retry later), 504 `<op>_timeout`, 409 `gpu_unavailable`,
 * 422 `enrol_auth_failed` (the admin's credentials), 502 for the relay's own enrolment codes, else 502 `<op>_failed`.
 * The relay's message is kept: it says what went wrong on the host.
 */
export function commandError(op: string, error: Pick<CommandError, 'code' | 'message'>): ApiError {
  switch (error.code) {
    case COMMAND_ERROR.hostOffline:
      return new ApiError(503, 'host_offline', `the relay is offline: ${error.message}`);
    case COMMAND_ERROR.timeout:
      return new ApiError(504, `${op}_timeout`, error.message);
    case COMMAND_ERROR.gpuUnavailable:
      return new ApiError(409, 'gpu_unavailable', error.message);
    case COMMAND_ERROR.enrolAuthFailed:
      return new ApiError(422, 'enrol_auth_failed', error.message);
    case COMMAND_ERROR.enrolUnreachable:
    case COMMAND_ERROR.enrolInstallFailed:
    case COMMAND_ERROR.enrolVerifyFailed:
      return new ApiError(502, error.code, error.message);
    default:
      return new ApiError(502, `${op}_failed`, error.message);
  }
}
