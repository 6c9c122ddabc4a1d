// asciicast v2 recorder for shell sessions: a header line, then [t, "o", text] and [t, "r", "COLSxROWS"] events.
import { StringDecoder } from 'node:string_decoder';

export class AsciicastRecorder {
  private readonly lines: string[] = [];
  private readonly decoder = new StringDecoder('utf8');
  private readonly started: number;
  private bytes = 0;
  private truncated = false;

  constructor(
    cols: number,
    rows: number,
    term: string,
    private readonly maxBytes: number,
    now = Date.now(),
  ) {
    this.started = now;
    this.push(
      JSON.stringify({ version: 2, width: cols, height: rows, timestamp: Math.floor(now / 1000), env: { TERM: term } }),
    );
  }

  output(chunk: Buffer, now = Date.now()): void {
    const text = this.decoder.write(chunk);
    if (text) this.event('o', text, now);
  }

  resize(cols: number, rows: number, now = Date.now()): void {
    this.event('r', `${cols}x${rows}`, now);
  }

  /** The whole recording, newline-terminated lines. */
  finish(now = Date.now()): string {
    const rest = this.decoder.end();
    if (rest) this.event('o', rest, now);
    return `${this.lines.join('\n')}\n`;
  }

  get startedAt(): number {
    return this.started;
  }

  private event(kind: 'o' | 'r', data: string, now: number): void {
    const t = Math.round(now - this.started) / 1000;
    this.push(JSON.stringify([t, kind, data]));
  }

  private push(line: string): void {
    if (this.truncated) return;
    if (this.bytes + line.length + 1 > this.maxBytes) {
      this.truncated = true;
      return;
    }
    this.bytes += line.length + 1;
    this.lines.push(line);
  }
}
