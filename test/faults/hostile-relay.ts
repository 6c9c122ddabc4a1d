// A hostile relay: a valid host token used to send everything the tunnel protocol has (every command result and event,
// with other hosts' ids), garbage, oversized frames, floods, and slow-loris connections. Seeded: a seed and a number
// of rounds reproduce a run exactly. Used by test/faults/hostile-relay.test.ts (short) and bench/faults (long).
import { randomBytes } from 'node:crypto';
import { connect } from 'node:net';
import { CLOSE_CODE, EVENT, MSG, PROTOCOL_VERSION, encodeFrame, type FrameKind } from '@remotegpu/schema';
import WebSocket from 'ws';

/** mulberry32: a small seeded PRNG (the runs must be reproducible, not secret). */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Victims {
  /** Another host's environments (and its id): nothing sent here may touch them. */
  envIds: string[];
  hostId: string;
}

export interface HostileOptions {
  /** The edge's origin (`http://127.0.0.1:port`). */
  edge: string;
  /** The hostile relay's own, valid host token. */
  token: string;
  seed: number;
  rounds: number;
  victims: Victims;
}

export interface HostileReport {
  sent: number;
  byKind: Record<string, number>;
  /** Close codes and reasons the edge gave, in order. */
  closes: { code: number; reason: string }[];
  connections: number;
}

/** Opens a control (or data) connection; resolves once open. */
export function dial(edge: string, token: string, query = ''): Promise<WebSocket> {
  const ws = new WebSocket(`${edge.replace(/^http/, 'ws')}/agent/connect${query}`, {
    headers: { authorization: `Bearer ${token}` },
    maxPayload: 64 * 1024 * 1024,
  });
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
    ws.once('unexpected-response', (_req, res) => reject(new Error(`upgrade answered ${res.statusCode}`)));
  });
}

/** The close code and reason the edge gives after `send` (or null when it stays open for `waitMs`). */
export async function closeAfter(
  ws: WebSocket,
  send: (ws: WebSocket) => void,
  waitMs = 5000,
): Promise<{ code: number; reason: string } | null> {
  const closed = new Promise<{ code: number; reason: string }>((r) =>
    ws.once('close', (code, reason) => r({ code, reason: reason.toString() })),
  );
  send(ws);
  const t = new Promise<null>((r) => setTimeout(() => r(null), waitMs));
  return Promise.race([closed, t]);
}

export const validHello = (extra: Record<string, unknown> = {}) =>
  JSON.stringify({ type: MSG.hello, protocol: PROTOCOL_VERSION, agent_version: 'hostile/0', ...extra });

function welcome(ws: WebSocket, timeoutMs = 10_000): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('no welcome')), timeoutMs);
    const on = (data: WebSocket.RawData, binary: boolean) => {
      if (binary) return;
      try {
        if ((JSON.parse(data.toString()) as { type?: string }).type === MSG.welcome) {
          clearTimeout(t);
          ws.off('message', on);
          resolve();
        }
      } catch {
        /* not JSON */
      }
    };
    ws.on('message', on);
    ws.once('close', (code, reason) => {
      clearTimeout(t);
      reject(new Error(`closed before welcome: ${code} ${reason.toString()}`));
    });
  });
}

/** One generated frame: its kind (for the report) and what to send. */
type Gen = (r: () => number, v: Victims) => { kind: string; frames: (string | Buffer)[] };

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
const hex = (r: () => number, n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
const id = (r: () => number) => `${hex(r, 8)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 4)}-${hex(r, 12)}`;
const ev = (name: string, data: unknown, withId?: string) =>
  JSON.stringify({ type: MSG.event, name, ...(withId ? { id: withId } : {}), data });
const metric = (envId: string) => ({
  environment_id: envId,
  type: 'container',
  timestamp: new Date().toISOString(),
  cpu_usage: 99,
  memory_usage: 99,
  gpu_usage: 99,
  network_in: 1,
  network_out: 1,
});

const GENS: Record<string, Gen> = {
  result: (r, v) => ({
    kind: 'result',
    frames: [
      JSON.stringify(
        r() < 0.5
          ? {
              type: MSG.result,
              id: id(r),
              ok: true,
              data: { container_id: hex(r, 64), ip: '10.6.6.6', environment_id: pick(r, v.envIds) },
            }
          : { type: MSG.result, id: id(r), ok: false, error: { code: 'internal', message: 'x'.repeat(100) } },
      ),
    ],
  }),
  containerState: (r, v) => ({
    kind: 'event.container.state',
    frames: [
      ev(EVENT.containerState, {
        environment_id: pick(r, v.envIds),
        container_id: hex(r, 64),
        state: pick(r, ['running', 'exited', 'oom', 'removed', 'dead']),
        reason: 'hostile',
      }),
    ],
  }),
  pull: (r, v) => ({
    kind: 'event.pull.progress',
    frames: [ev(EVENT.pullProgress, { environment_id: pick(r, v.envIds), image: 'evil', status: 'pwned' })],
  }),
  metrics: (r, v) => ({
    kind: 'event.metrics',
    frames: [ev(EVENT.metrics, { samples: v.envIds.map(metric).concat(r() < 0.3 ? [metric('x'.repeat(64))] : []) })],
  }),
  audit: (r, v) => ({
    kind: 'event.audit',
    frames: [
      ev(
        EVENT.audit,
        {
          events: Array.from({ length: 1 + Math.floor(r() * 5) }, () => ({
            id: id(r),
            timestamp: new Date().toISOString(),
            environment_id: pick(r, v.envIds),
            type: 'container',
            event: 'ssh_login',
            source_ip: '6.6.6.6',
            username: 'root',
            status: 'success',
            detail: { hostile: true },
          })),
        },
        id(r),
      ),
    ],
  }),
  recording: (r, v) => ({
    kind: 'event.recording',
    frames: [
      ev(
        EVENT.recording,
        {
          id: id(r),
          environment_id: pick(r, v.envIds),
          username: 'root',
          source_ip: '6.6.6.6',
          started_at: Date.now() - 1000,
          ended_at: Date.now(),
          cast: '{"version":2}\n[0.1,"o","hostile"]',
        },
        id(r),
      ),
    ],
  }),
  rehello: (r, v) => ({
    kind: 'hello.again',
    frames: [
      validHello({
        containers: v.envIds.map((e) => ({
          environment_id: e,
          container_id: hex(r, 64),
          state: pick(r, ['running', 'exited']),
          exit_code: 137,
          ip: '10.6.6.6',
        })),
        ssh_ports: [1, 65535],
      }),
    ],
  }),
  unknownEvent: (r) => ({ kind: 'event.unknown', frames: [ev(`evil.${hex(r, 4)}`, { a: 1 })] }),
  edgeBound: (r, v) => ({
    kind: 'edge-bound types',
    frames: [
      JSON.stringify({ type: pick(r, [MSG.cmd, MSG.welcome, MSG.routeUpsert, MSG.routeRemove, MSG.ack]), id: id(r) }),
      JSON.stringify({ type: MSG.routeRemove, environment_id: pick(r, v.envIds) }),
      JSON.stringify({ type: MSG.ack, ids: [id(r)] }),
      JSON.stringify({ type: MSG.pong, ts: r() }),
    ],
  }),
  garbage: (r) => ({
    kind: 'garbage',
    frames: [
      pick(r, [
        '{',
        'null',
        '[]',
        '"hello"',
        '{"type":42}',
        '{"type":"event","name":"audit","data":{"events":"no"}}',
        '{"type":"result","id":"","ok":true}',
        '{"__proto__":{"polluted":true},"type":"ping","ts":1}',
        '['.repeat(50_000),
        randomBytes(64).toString('latin1'),
      ]),
      randomBytes(Math.floor(r() * 4096)),
    ],
  }),
  oversized: () => ({
    kind: 'oversized',
    // Over the protocol's 4 MiB control limit (decoded as too_large and ignored).
    frames: [JSON.stringify({ type: MSG.event, name: EVENT.metrics, data: { pad: 'x'.repeat(5 * 1024 * 1024) } })],
  }),
  flood: (r, v) => ({
    kind: 'flood',
    frames: Array.from({ length: 200 }, () => ev(EVENT.metrics, { samples: [metric(pick(r, v.envIds))] })),
  }),
};
const KINDS = Object.keys(GENS);

/** Runs `rounds` generated sends on control connections of the hostile host, re-dialling when the edge closes one. */
export async function hostileRelay(o: HostileOptions): Promise<HostileReport> {
  const r = prng(o.seed);
  const report: HostileReport = { sent: 0, byKind: {}, closes: [], connections: 0 };
  let ws: WebSocket | null = null;
  const open = async () => {
    const w = await dial(o.edge, o.token);
    report.connections++;
    w.on('close', (code, reason) => report.closes.push({ code, reason: reason.toString() }));
    w.on('error', () => undefined);
    // Commands the edge sends (e.g. removing "orphans" it was told about) get no answer: a hostile relay never answers.
    const greeted = welcome(w);
    w.send(validHello());
    await greeted;
    return w;
  };
  for (let i = 0; i < o.rounds; i++) {
    if (!ws || ws.readyState !== WebSocket.OPEN) ws = await open();
    const kind = pick(r, KINDS);
    // The oversized frame is 5 MiB: keep it rare.
    if (kind === 'oversized' && r() < 0.8) continue;
    const g = GENS[kind]!(r, o.victims);
    report.byKind[g.kind] = (report.byKind[g.kind] ?? 0) + 1;
    for (const f of g.frames) {
      if (ws.readyState !== WebSocket.OPEN) break;
      ws.send(f, { binary: Buffer.isBuffer(f) });
      report.sent++;
    }
    // Let the socket drain now and then so floods queue at the edge, not in this process.
    if (ws.bufferedAmount > 1024 * 1024 || i % 25 === 0) await new Promise((res) => setTimeout(res, 5));
  }
  // The data connection: frames for streams that do not exist (or are another shard's), of every kind, and bytes.
  const data = await dial(o.edge, o.token, '?role=data&shard=0&shards=1');
  report.connections++;
  data.on('close', (code, reason) => report.closes.push({ code, reason: reason.toString() }));
  data.on('error', () => undefined);
  const dataWelcome = welcome(data);
  data.send(
    JSON.stringify({ type: MSG.hello, protocol: PROTOCOL_VERSION, agent_version: 'hostile/0', role: 'data', shard: 0 }),
  );
  await dataWelcome;
  for (let i = 0; i < Math.ceil(o.rounds / 4) && data.readyState === WebSocket.OPEN; i++) {
    const kind = 1 + Math.floor(r() * 9);
    const payload = randomBytes(Math.floor(r() * 2048));
    let f: Buffer = randomBytes(1 + Math.floor(r() * 64));
    if (r() >= 0.2) {
      try {
        f = Buffer.from(encodeFrame(kind as FrameKind, Math.floor(r() * 0xffffffff), payload));
      } catch {
        /* a kind the encoder refuses: the random bytes go instead */
      }
    }
    data.send(f, { binary: true });
    report.sent++;
    report.byKind['data frames'] = (report.byKind['data frames'] ?? 0) + 1;
  }
  data.close(CLOSE_CODE.agentStopping, 'done');
  const last = ws;
  if (last && last.readyState === WebSocket.OPEN) {
    await new Promise<void>((res) => {
      last.once('close', () => res());
      last.close(CLOSE_CODE.agentStopping, 'done');
      setTimeout(res, 2000);
    });
  }
  return report;
}

/**
 * Slow loris: `n` connections that send an upgrade request's headers one byte at a time every `everyMs`, and
 * `n` upgraded control sockets that never say hello. Returns a function that ends them all.
 */
export async function slowLoris(edge: string, token: string, n: number, everyMs = 500): Promise<() => Promise<void>> {
  const u = new URL(edge);
  const head = `GET /agent/connect HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nAuthorization: Bearer ${token}\r\nX-Slow: ${'s'.repeat(4000)}\r\n\r\n`;
  const sockets = Array.from({ length: n }, () => {
    const s = connect(Number(u.port), u.hostname);
    s.on('error', () => undefined);
    let at = 0;
    const t = setInterval(() => {
      if (at < head.length && !s.destroyed) s.write(head[at++]!);
    }, everyMs);
    return { s, t };
  });
  const silent = await Promise.all(Array.from({ length: n }, () => dial(edge, token).catch(() => null)));
  return async () => {
    for (const { s, t } of sockets) {
      clearInterval(t);
      s.destroy();
    }
    for (const w of silent) w?.terminate();
  };
}
