// A small keep-alive HTTP/1.1 load generator on raw sockets: every latency is a real request's (no coordinated-omission correction).
import { connect, type Socket } from 'node:net';

export interface Target {
  port: number;
  host: string;
  path: string;
  /** Extra request header lines (Host, Cookie). */
  headers: Record<string, string>;
}

export interface LoadResult {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
}

/** One client: a persistent connection sending the next request as soon as the previous response is complete. */
function client(t: Target, until: () => boolean, record: (ms: number) => void, onError: () => void): Promise<void> {
  const head = Buffer.from(
    `GET ${t.path} HTTP/1.1\r\n${Object.entries(t.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );
  return new Promise((resolve) => {
    let sock: Socket;
    let buf: Buffer = Buffer.alloc(0);
    let need = -1;
    let start = 0n;
    const send = () => {
      if (until()) {
        sock.end();
        resolve();
        return;
      }
      start = process.hrtime.bigint();
      sock.write(head);
    };
    const open = () => {
      sock = connect(t.port, t.host, send);
      sock.setNoDelay(true);
      sock.on('data', (d: Buffer) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          if (need < 0) {
            const end = buf.indexOf('\r\n\r\n');
            if (end < 0) return;
            const headers = buf.subarray(0, end).toString('latin1');
            const len = /\r\ncontent-length:\s*(\d+)/i.exec(headers);
            if (!len || !headers.startsWith('HTTP/1.1 200')) {
              onError();
              sock.destroy();
              return;
            }
            need = end + 4 + Number(len[1]);
          }
          if (buf.length < need) return;
          buf = buf.subarray(need);
          need = -1;
          record(Number(process.hrtime.bigint() - start) / 1e6);
          send();
        }
      });
      sock.on('error', () => {
        onError();
      });
      sock.on('close', () => {
        if (!until()) {
          buf = Buffer.alloc(0);
          need = -1;
          open();
        } else resolve();
      });
    };
    open();
  });
}

const pct = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))] ?? NaN;

/** Runs `clients` concurrent clients (client i on targets[i % n]) for warmup + duration; only the measured window counts. */
export async function load(
  targets: Target[],
  clients: number,
  durationMs: number,
  warmupMs = 1000,
): Promise<LoadResult> {
  const lat: number[] = [];
  let errors = 0;
  let measuring = false;
  const t0 = Date.now();
  const stopAt = t0 + warmupMs + durationMs;
  setTimeout(() => {
    measuring = true;
  }, warmupMs);
  await Promise.all(
    Array.from({ length: clients }, (_, i) =>
      client(
        targets[i % targets.length]!,
        () => Date.now() >= stopAt,
        (ms) => {
          if (measuring) lat.push(ms);
        },
        () => {
          errors++;
        },
      ),
    ),
  );
  lat.sort((a, b) => a - b);
  return { rps: lat.length / (durationMs / 1000), p50: pct(lat, 0.5), p99: pct(lat, 0.99), errors };
}

/** Downloads `path` once and returns MB/s (10^6 bytes per second). */
export function bulk(t: Target, bytes: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const sock = connect(t.port, t.host);
    const start = process.hrtime.bigint();
    let got = 0;
    let headerDone = false;
    let head = '';
    sock.on('connect', () =>
      sock.write(
        `GET ${t.path} HTTP/1.1\r\n${Object.entries(t.headers)
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join('')}connection: close\r\n\r\n`,
      ),
    );
    sock.on('data', (d: Buffer) => {
      if (!headerDone) {
        head += d.subarray(0, 400).toString('latin1');
        const end = d.indexOf('\r\n\r\n');
        if (end < 0) return;
        headerDone = true;
        got += d.length - end - 4;
      } else got += d.length;
      if (got >= bytes) {
        const secs = Number(process.hrtime.bigint() - start) / 1e9;
        sock.destroy();
        resolve(bytes / 1e6 / secs);
      }
    });
    sock.on('error', reject);
    sock.on('close', () => {
      if (got < bytes) reject(new Error(`bulk: ${got} of ${bytes} bytes; the answer began: ${head.slice(0, 400)}`));
    });
  });
}
