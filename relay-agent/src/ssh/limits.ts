// Gateway limits (login grace, unauthenticated cap, brute-force lockout) with their defaults.
export interface GatewayLimits {
  /** An unauthenticated connection is dropped after this long (OpenSSH LoginGraceTime). */
  loginGraceMs: number;
  /** Unauthenticated connections held at once over all listeners; new ones beyond it are dropped. */
  maxUnauthenticated: number;
  /**
   * Failed attempts from one source (IPv4 address or IPv6 /64) on one environment before that pair is locked. An
   * environment is never locked for everyone: its owner gets in from another address while an attacker is locked.
   */
  maxFailures: number;
  /** Failed attempts from one source over all environments before the source is locked (scanning). */
  maxFailuresPerSource: number;
  /** How long a lock lasts; failures older than this are forgotten too. */
  lockMs: number;
  /** Keepalive interval on both legs; the peer is dropped after `keepaliveCountMax` missed answers. */
  keepaliveMs: number;
  keepaliveCountMax: number;
  /** Upper bound of one session recording (asciicast bytes); output beyond it is not recorded. */
  maxRecordingBytes: number;
}

export const DEFAULT_LIMITS: GatewayLimits = {
  loginGraceMs: 30_000,
  maxUnauthenticated: 256,
  maxFailures: 5,
  maxFailuresPerSource: 20,
  lockMs: 15 * 60_000,
  keepaliveMs: 15_000,
  keepaliveCountMax: 3,
  maxRecordingBytes: 32 * 1024 * 1024,
};
