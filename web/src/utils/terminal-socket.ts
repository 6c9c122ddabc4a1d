// The browser terminal's socket: one per tab and environment, reattaching to the same shell after a drop (reload, sleep).
import { TERMINAL_CLOSE, TERMINAL_LINGER_MS, TERMINAL_MSG, parseTerminalServerMessage } from '@remotegpu/schema';

export type TerminalState = 'connecting' | 'open' | 'reconnecting' | 'exited' | 'replaced' | 'failed';

export interface TerminalSocketEvents {
  /** Terminal bytes from the shell (the replay of recent output comes first after each (re)attach). */
  output(data: Uint8Array): void;
  /** A (re)attach is about to replay the recent output: clear the screen first. */
  attached(): void;
  state(state: TerminalState, detail?: string): void;
}

const storageKey = (envId: string) => `remotegpu.terminal.${envId}`;

/** The tab's session id for an environment, if it has an open terminal (sessionStorage: per tab, kept over reloads). */
export function savedSession(envId: string): string | null {
  return sessionStorage.getItem(storageKey(envId));
}

function newSession(envId: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(18));
  const id = btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, '-')
    .replace(/\//g, '_');
  sessionStorage.setItem(storageKey(envId), id);
  return id;
}

export function forgetSession(envId: string): void {
  sessionStorage.removeItem(storageKey(envId));
}

const enc = new TextEncoder();

export class TerminalSocket {
  private ws: WebSocket | null = null;
  private session: string;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;
  private since = Date.now();
  private opened = false;
  private stopped = false;

  constructor(
    private readonly envId: string,
    private readonly size: () => { cols: number; rows: number },
    private readonly on: TerminalSocketEvents,
  ) {
    this.session = savedSession(envId) ?? newSession(envId);
  }

  connect(): void {
    const { cols, rows } = this.size();
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const q = new URLSearchParams({ session: this.session, cols: String(cols), rows: String(rows) });
    const ws = new WebSocket(`${scheme}://${location.host}/api/v1/environments/${this.envId}/terminal?${q}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    this.on.state(this.failures ? 'reconnecting' : 'connecting');
    ws.onopen = () => {
      this.opened = true;
      this.failures = 0;
      this.since = Date.now();
      this.on.attached();
      this.on.state('open');
    };
    ws.onmessage = (e: MessageEvent<ArrayBuffer | string>) => {
      if (typeof e.data !== 'string') {
        this.on.output(new Uint8Array(e.data));
        return;
      }
      const m = parseTerminalServerMessage(e.data);
      if (m?.type === TERMINAL_MSG.exit) {
        this.stopped = true;
        forgetSession(this.envId);
        this.on.state('exited', m.code === null ? '' : String(m.code));
      }
    };
    ws.onclose = (e) => {
      if (this.ws !== ws) return;
      this.ws = null;
      if (this.stopped) return;
      if (e.code === TERMINAL_CLOSE.replaced) {
        this.stopped = true;
        this.on.state('replaced');
        return;
      }
      // A refused upgrade (not the owner, a stopped environment) looks like 1006 here: a socket that never opened gives
      // up after a few tries; one that was open retries while its shell may still wait for it.
      this.failures++;
      if ((!this.opened && this.failures >= 3) || Date.now() - this.since > TERMINAL_LINGER_MS) {
        this.stopped = true;
        forgetSession(this.envId);
        this.on.state('failed', e.reason);
        return;
      }
      this.on.state('reconnecting');
      const delay = Math.min(10_000, 500 * 2 ** Math.min(this.failures, 5)) * (0.5 + Math.random() / 2);
      this.timer = setTimeout(() => this.connect(), delay);
    };
  }

  /** Keystrokes and pastes, as UTF-8 bytes. */
  input(text: string): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(enc.encode(text));
  }

  resize(cols: number, rows: number): void {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(JSON.stringify({ type: TERMINAL_MSG.resize, cols, rows }));
  }

  /** Leaves the shell running for a reattach (the page goes away, the panel closes). */
  dispose(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.ws?.close(1000);
    this.ws = null;
  }
}
