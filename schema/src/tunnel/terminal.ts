// The browser terminal over the tunnel: the OpenHead field that asks the relay for a shell, and the messages on its socket.
import { z } from 'zod';

/**
 * A terminal stream's OpenHead names this port (the shell's, as SSH would) next to its `terminal` field; the relay
 * never dials it: it attaches the stream to the terminal session instead.
 */
export const TERMINAL_PORT = 22;

/** A browser-chosen session id (random, one per tab): reattaching with it within TERMINAL_LINGER_MS finds the same shell. */
export const TERMINAL_SESSION_PATTERN = /^[A-Za-z0-9_-]{16,64}$/;
export const TERMINAL_MAX_COLS = 1000;
export const TERMINAL_MAX_ROWS = 500;
/** How long a shell outlives its last browser socket (a reload, a laptop asleep) before it gets SIGHUP. */
export const TERMINAL_LINGER_MS = 5 * 60_000;
/** The recent output a reattaching browser gets first (Coder keeps about as much). */
export const TERMINAL_REPLAY_BYTES = 64 * 1024;

/** OpenHead's optional `terminal` field (edge → agent): attach to (or start) the shell `session` of the environment. */
export const TerminalOpen = z.object({
  session: z.string().regex(TERMINAL_SESSION_PATTERN),
  cols: z.number().int().min(1).max(TERMINAL_MAX_COLS),
  rows: z.number().int().min(1).max(TERMINAL_MAX_ROWS),
  /** The console user (the owner): a session answers only the user who started it. */
  user_id: z.string().min(1).max(128),
  /** The browser's address, for the audit trail. */
  source_ip: z.string().max(64),
});
export type TerminalOpen = z.infer<typeof TerminalOpen>;

/**
 * On the terminal's WebSocket, binary messages are the terminal's bytes both ways (keystrokes in, output out, UTF-8 as
 * the shell writes it); text messages are these JSON control messages.
 */
export const TERMINAL_MSG = {
  /** browser → relay: the window changed size. */
  resize: 'resize',
  /** relay → browser: the shell ended with this code; the socket closes next and the session is gone. */
  exit: 'exit',
} as const;

export const TerminalClientMessage = z.object({
  type: z.literal(TERMINAL_MSG.resize),
  cols: z.number().int().min(1).max(TERMINAL_MAX_COLS),
  rows: z.number().int().min(1).max(TERMINAL_MAX_ROWS),
});
export type TerminalClientMessage = z.infer<typeof TerminalClientMessage>;

export const TerminalServerMessage = z.object({
  type: z.literal(TERMINAL_MSG.exit),
  code: z.number().int().nullable(),
});
export type TerminalServerMessage = z.infer<typeof TerminalServerMessage>;

/**
 * Close codes of the terminal's socket (relay → browser), besides 1000 after `exit`. A shell that cannot be started is
 * refused before the upgrade (502 with the reason), never with a close code.
 */
export const TERMINAL_CLOSE = {
  /** A newer socket (another tab with the same session id) took the session over: do not reconnect. */
  replaced: 4100,
} as const;

/** Parses a browser's control message; unknown or malformed ones give null (and are ignored). */
export function parseTerminalClientMessage(text: string): TerminalClientMessage | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const r = TerminalClientMessage.safeParse(raw);
  return r.success ? r.data : null;
}

/** Parses a relay's control message; unknown or malformed ones give null (and are ignored). */
export function parseTerminalServerMessage(text: string): TerminalServerMessage | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return null;
  }
  const r = TerminalServerMessage.safeParse(raw);
  return r.success ? r.data : null;
}
