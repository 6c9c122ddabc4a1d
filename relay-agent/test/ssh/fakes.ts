// In-memory stand-ins for the agent seams the SSH gateway uses (route table, audit outbox, recordings, logger).
import { randomBytes, scryptSync } from 'node:crypto';
import { ENV_SCRYPT, formatScryptHash } from '@remotegpu/schema';
import type { AuditRecord, Route } from '@remotegpu/schema';
import type { AuditSink, Logger, RecordingSink, RouteTable, SessionRecording } from '../../src/contracts.ts';

export class MemoryRoutes implements RouteTable {
  private readonly routes = new Map<string, Route>();
  private readonly listeners = new Set<(u: Route[], r: string[]) => void>();
  byPort(port: number) {
    return [...this.routes.values()].find((r) => r.ssh_port === port);
  }
  byEnv(id: string) {
    return this.routes.get(id);
  }
  all() {
    return [...this.routes.values()];
  }
  onChange(fn: (u: Route[], r: string[]) => void) {
    this.listeners.add(fn);
    return () => void this.listeners.delete(fn);
  }
  upsert(route: Route) {
    this.routes.set(route.environment_id, route);
    for (const fn of this.listeners) fn([route], []);
  }
  remove(id: string) {
    this.routes.delete(id);
    for (const fn of this.listeners) fn([], [id]);
  }
}

export class MemoryAudit implements AuditSink {
  readonly events: AuditRecord[] = [];
  record(e: AuditRecord) {
    this.events.push(e);
  }
  /** Waits until an event matching `pred` arrives (logout events follow the client's exit by a moment). */
  async waitFor(pred: (e: AuditRecord) => boolean, since = 0, ms = 5000): Promise<AuditRecord> {
    const end = Date.now() + ms;
    for (;;) {
      const hit = this.events.slice(since).find(pred);
      if (hit) return hit;
      if (Date.now() > end) throw new Error(`no matching audit event; have ${JSON.stringify(this.events.slice(-5))}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

export class MemoryRecordings implements RecordingSink {
  readonly items: SessionRecording[] = [];
  upload(rec: SessionRecording) {
    this.items.push(rec);
  }
}

/** Every line any testLogger wrote, in order (what an operator would read in the relay's log). */
export const logLines: Record<string, unknown>[] = [];

export function testLogger(fields: Record<string, unknown> = {}): Logger {
  const quiet = !process.env.SSH_TEST_LOG;
  const out = (level: string) => (msg: string, f?: Record<string, unknown>) => {
    const line = { level, msg, ...fields, ...f };
    logLines.push(line);
    if (!quiet || level === 'error') console.log(JSON.stringify(line));
  };
  return {
    debug: out('debug'),
    info: out('info'),
    warn: out('warn'),
    error: out('error'),
    child: (f) => testLogger({ ...fields, ...f }),
  };
}

export function hashPassword(pw: string): string {
  const salt = randomBytes(16);
  const { N, r, p, keylen } = ENV_SCRYPT;
  return formatScryptHash(ENV_SCRYPT, salt, scryptSync(pw, salt, keylen, { N, r, p }));
}

export function envId(): string {
  const a = 'abcdefghijklmnopqrstuvwxyz0123456789';
  return [...randomBytes(16)].map((b) => a[b % a.length]).join('');
}
