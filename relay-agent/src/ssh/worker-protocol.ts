// Messages between the relay's primary process and its SSH workers (child_process IPC, JSON plus a socket handle).
import type { AuditRecord, Route } from '@remotegpu/schema';
import type { LogLevel, SessionRecording } from '../contracts.ts';
import type { RelayKeys } from './keys.ts';
import type { GatewayLimits } from './limits.ts';
import type { FailResult } from './lockouts.ts';

/** Primary → worker. */
export type ToWorker =
  | {
      t: 'init';
      index: number;
      keys: RelayKeys;
      limits: GatewayLimits;
      /** This worker's share of `limits.maxUnauthenticated`. */
      maxUnauthenticated: number;
      dockerUrl: string;
      allowJsCrypto: boolean;
    }
  /** Route changes, as the primary's table reports them (all routes first, as upserts). */
  | { t: 'routes'; upserted: Route[]; removed: string[] }
  /** Sent with the accepted socket as the handle; `envPort` null: the shared port. */
  | { t: 'conn'; envPort: number | null }
  | { t: 'lockout'; id: number; locked?: boolean; result?: FailResult }
  | { t: 'close' };

/** Worker → primary. */
export type FromWorker =
  | { t: 'ready' }
  | { t: 'audit'; event: AuditRecord }
  | { t: 'recording'; rec: SessionRecording }
  | { t: 'log'; level: LogLevel; msg: string; fields: Record<string, unknown> }
  | { t: 'lockout'; id: number; op: 'isLocked' | 'fail'; source: string; pair: string }
  | { t: 'succeed'; pair: string }
  | { t: 'closed' };
