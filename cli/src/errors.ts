// Exit codes and the one error type the CLI throws: each failure says which documented exit code it ends with.
import type { ErrorBody } from '@remotegpu/schema';

/** Documented in `--help` and the README; scripts may rely on them. */
export const EXIT = {
  ok: 0,
  other: 1,
  usage: 2,
  auth: 3,
  notFound: 4,
  noCapacity: 5,
  network: 6,
} as const;
export type ExitCode = (typeof EXIT)[keyof typeof EXIT];

export class CliError extends Error {
  override name = 'CliError';
  constructor(
    message: string,
    readonly exitCode: ExitCode = EXIT.other,
    /** The API's error code, when the API said no. */
    readonly code?: string,
  ) {
    super(message);
  }
}

/** 409 codes that mean "nothing free right now": retry later or ask for less. */
const CAPACITY_CODES = new Set(['no_capacity', 'gpu_unavailable', 'machine_unavailable', 'no_ports', 'host_offline']);

/** The exit code for an API answer that is not 2xx. */
export function exitCodeFor(status: number, code: string): ExitCode {
  if (status === 401 || status === 403) return EXIT.auth;
  if (status === 404) return EXIT.notFound;
  if (CAPACITY_CODES.has(code)) return EXIT.noCapacity;
  if (status === 400 || status === 422) return EXIT.usage;
  return EXIT.other;
}

/** The API's own message, or the status when the body is not the API's error shape. */
export function apiError(status: number, body: unknown): CliError {
  const e = (body as Partial<ErrorBody> | null)?.error;
  const code = typeof e?.code === 'string' ? e.code : `http_${status}`;
  const message = typeof e?.message === 'string' ? e.message : `HTTP ${status}`;
  return new CliError(message, exitCodeFor(status, code), code);
}
