// JSON-lines logger implementing the Logger seam: one object a line, level filtered, child loggers add fields.
import type { LogLevel, Logger } from './contracts.ts';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 };

export interface LoggerOptions {
  level: LogLevel;
  /** Where lines go (default: stderr, so stdout stays free for --help and --version). */
  write?: (line: string) => void;
  now?: () => Date;
  fields?: Record<string, unknown>;
}

function plain(value: unknown): unknown {
  if (value instanceof Error) {
    const code = (value as { code?: unknown }).code;
    return code === undefined
      ? { message: value.message, name: value.name }
      : { message: value.message, name: value.name, code };
  }
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export function createLogger(opts: LoggerOptions): Logger {
  const write = opts.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const now = opts.now ?? (() => new Date());
  const min = RANK[opts.level];
  const base = opts.fields ?? {};
  const emit = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => {
    if (RANK[level] < min) return;
    const line: Record<string, unknown> = { ts: now().toISOString(), level, msg };
    const envelope = line['ts'];
    for (const [k, v] of Object.entries(base)) line[k] = plain(v);
    if (fields) for (const [k, v] of Object.entries(fields)) line[k] = plain(v);
    // Fields never overwrite the envelope (an ssh2 error carries its own `level`, for one).
    Object.assign(line, { ts: envelope, level, msg });
    let text: string;
    try {
      text = JSON.stringify(line);
    } catch {
      text = JSON.stringify({ ts: line['ts'], level, msg, note: 'fields not serialisable' });
    }
    write(text);
  };
  return {
    debug: (m, f) => emit('debug', m, f),
    info: (m, f) => emit('info', m, f),
    warn: (m, f) => emit('warn', m, f),
    error: (m, f) => emit('error', m, f),
    child: (fields) => createLogger({ ...opts, write, now, fields: { ...base, ...fields } }),
  };
}

/** A logger that drops everything (tests, and code paths before the real one exists). */
export const silentLogger: Logger = createLogger({ level: 'error', write: () => {} });
