// The seams between the agent's parts (tunnel, state, Docker, SSH gateway), so each can be faked in tests.
import type { AuditRecord, Route } from '@remotegpu/schema';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';
export interface Logger {
  debug(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
  child(fields: Record<string, unknown>): Logger;
}

/** The routes this relay serves, as last sent by the edge (and persisted for edge outages). */
export interface RouteTable {
  byPort(port: number): Route | undefined;
  byEnv(environmentId: string): Route | undefined;
  all(): Route[];
  /** Called after every change with the routes added/changed and the ids removed. */
  onChange(fn: (upserted: Route[], removed: string[]) => void): () => void;
}

/** Durable audit outbox: `record` persists locally first; the tunnel drains it to the edge. */
export interface AuditSink {
  record(event: AuditRecord): void;
}

/** A finished shell session recording (asciicast v2) to upload through the tunnel. */
export interface SessionRecording {
  id: string;
  environment_id: string;
  username: string;
  source_ip: string;
  started_at: number;
  ended_at: number;
  cast: string;
}
export interface RecordingSink {
  upload(rec: SessionRecording): void;
}

/** Small key-value persistence (the agent's libsql state file implements it). */
export interface KeyValueStore {
  get(key: string): Promise<string | null>;
  set(key: string, value: string): Promise<void>;
}
