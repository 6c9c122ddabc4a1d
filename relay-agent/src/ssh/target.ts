// What a session bridge needs from a target (upstream sshd or docker exec), so both kinds share one bridge.
import type { Duplex, Readable, Writable } from 'node:stream';

export interface PtyRequest {
  term: string;
  rows: number;
  cols: number;
  width: number;
  height: number;
  modes: Record<string, number>;
}

/** The renter's agent (`ssh -A`): each call opens one auth-agent@openssh.com channel back to the renter. */
export interface AgentSource {
  open(): Promise<Duplex>;
}

export interface StartRequest {
  kind: 'shell' | 'exec' | 'subsystem';
  /** The command for exec, the subsystem name for subsystem. */
  arg: string;
  pty: PtyRequest | null;
  env: Record<string, string>;
  /** Set when the renter asked for agent forwarding on this session. */
  agent?: AgentSource;
}

export type ExitInfo = { code: number } | { signal: string; coreDumped: boolean; message: string };

export interface TargetProcess {
  stdin: Writable;
  stdout: Readable;
  /** Null when the process has a TTY: everything comes on stdout. */
  stderr: Readable | null;
  resize(rows: number, cols: number, height: number, width: number): void;
  signal(name: string): void;
  /** Resolves once the process has finished and its output has ended. */
  exit(): Promise<ExitInfo>;
  close(): void;
}

/** A listener opened for `ssh -R` inside the environment. */
export interface RemoteListener {
  /** The port it listens on (chosen by the target when 0 was asked). */
  port: number;
  close(): void;
}

export type OnRemoteConnection = (sock: Duplex, src: { ip: string; port: number }) => void;

export interface Target {
  start(req: StartRequest): Promise<TargetProcess>;
  /** A TCP stream to destHost:destPort as seen from the target (`ssh -L`). */
  forward(destHost: string, destPort: number, srcIp: string, srcPort: number): Promise<Duplex>;
  /** Listens inside the environment (`ssh -R`); each connection is handed to `on`. */
  listen(bindAddr: string, bindPort: number, on: OnRemoteConnection): Promise<RemoteListener>;
  close(): void;
}

/** An error whose message is meant for the renter (written to stderr as is). */
export class TargetError extends Error {}
