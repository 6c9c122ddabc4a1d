// One control connection from dial to close: upgrade with the bearer token, hello → welcome, heartbeats, frame decoding.
import WebSocket from 'ws';
import type { IncomingMessage } from 'node:http';
import {
  CLOSE_CODE,
  MAX_CONTROL_BYTES,
  MAX_FRAME_PAYLOAD,
  HEADER_BYTES,
  MSG,
  PROTOCOL_VERSION,
  decodeControl,
  encodeControl,
} from '@remotegpu/schema';
import type { ControlMessage, Hello, Welcome } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';
import type { Clock } from './clock.ts';
import { PermanentError, RetryableError, SLOW_RETRY_MS } from './errors.ts';
import type { RunContext } from './supervisor.ts';

export type WebSocketCtor = new (url: string, options: WebSocket.ClientOptions) => WebSocket;

export interface ConnectionOptions {
  url: string;
  token: string;
  WebSocketImpl: WebSocketCtor;
  clock: Clock;
  log: Logger;
  connectTimeoutMs: number;
  heartbeatMs: number;
  missedHeartbeats: number;
  /** Built at every dial, so the edge always sees current inventory and containers. */
  hello(): Promise<Hello>;
  /** Welcome received: `send` works until `onClose`; data connections also write binary frames on `ws`. */
  onOpen(welcome: Welcome, send: (text: string) => boolean, ws: WebSocket): void;
  /** Binary frames (data connections); without it they are ignored, as on the control connection. */
  onBinary?(data: Buffer): void;
  /** Every decoded message after the welcome, except ping and pong. */
  onMessage(msg: ControlMessage): void;
  onClose(): void;
}

/**
 * Zero mask: ws then skips masking (~45 % of CPU on bulk). Masking protects intermediaries that cannot read
 * the stream: none sits inside TLS or on loopback. Plain ws:// to any other address keeps random masks.
 */
const noMask = (_mask: Buffer) => {};
function maskFree(url: string): boolean {
  const u = new URL(url);
  return (
    u.protocol === 'wss:' ||
    u.hostname === 'localhost' ||
    u.hostname === '[::1]' ||
    /^127\.\d+\.\d+\.\d+$/.test(u.hostname)
  );
}

export async function runConnection(opts: ConnectionOptions, ctx: RunContext): Promise<void> {
  const { log, clock } = opts;
  const hello = await opts.hello();
  if (ctx.signal.aborted) return;
  const ws = new opts.WebSocketImpl(opts.url, {
    headers: { Authorization: `Bearer ${opts.token}` },
    handshakeTimeout: opts.connectTimeoutMs,
    maxPayload: Math.max(MAX_CONTROL_BYTES, HEADER_BYTES + MAX_FRAME_PAYLOAD) + 1024,
    perMessageDeflate: false,
    ...(maskFree(opts.url) ? { generateMask: noMask } : {}),
  });

  return new Promise<void>((resolve, reject) => {
    let settled = false;
    let welcomed = false;
    let lastSeen = clock.now();
    let heartbeat: ReturnType<typeof setInterval> | undefined;
    const send = (text: string): boolean => {
      if (ws.readyState !== WebSocket.OPEN) return false;
      ws.send(text);
      return true;
    };
    const finish = (err?: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(welcomeTimer);
      if (heartbeat) clearInterval(heartbeat);
      ctx.signal.removeEventListener('abort', onAbort);
      if (welcomed) opts.onClose();
      if (ws.readyState === WebSocket.OPEN || ws.readyState === WebSocket.CONNECTING) ws.terminate();
      if (err) reject(err);
      else resolve();
    };
    const onAbort = () => {
      if (ws.readyState === WebSocket.OPEN) ws.close(CLOSE_CODE.agentStopping, 'agent stopping');
      finish();
    };
    ctx.signal.addEventListener('abort', onAbort, { once: true });
    // Covers the TCP/TLS/upgrade (handshakeTimeout covers only the upgrade) and the hello → welcome exchange.
    const welcomeTimer = setTimeout(
      () => finish(new RetryableError(`no welcome from the edge within ${opts.connectTimeoutMs} ms`)),
      opts.connectTimeoutMs * 2,
    );

    ws.on('unexpected-response', (_req, res: IncomingMessage) => {
      const status = res.statusCode ?? 0;
      res.resume();
      if (status === 401 || status === 403) {
        finish(
          new PermanentError(
            `the edge refused the host token (HTTP ${status}): check --token / REMOTEGPU_TOKEN, or create a new token for this host in the console`,
          ),
        );
      } else if (status === 426) {
        finish(
          new RetryableError(
            `the edge asks for another protocol (HTTP 426); this agent speaks version ${PROTOCOL_VERSION}: upgrade it`,
            SLOW_RETRY_MS,
          ),
        );
      } else {
        finish(new RetryableError(`the edge answered the upgrade with HTTP ${status}`));
      }
    });
    ws.on('error', (err) => finish(new RetryableError(`tunnel socket: ${err.message}`, undefined, { cause: err })));
    ws.on('open', () => {
      log.debug('tunnel open, sending hello', { url: opts.url });
      send(encodeControl(hello));
    });
    ws.on('close', (code, reasonBuf) => {
      const reason = reasonBuf.toString('utf8').slice(0, 200);
      if (code === CLOSE_CODE.kicked) {
        finish(
          new RetryableError(`the edge closed the tunnel (${reason || 'kicked'}): reconnecting to check the token`),
        );
      } else if (code === CLOSE_CODE.protocolMismatch) {
        finish(
          new RetryableError(
            `the edge does not speak protocol ${PROTOCOL_VERSION} (${reason}): upgrade the agent or the edge`,
            SLOW_RETRY_MS,
          ),
        );
      } else if (code === CLOSE_CODE.replaced) {
        finish(
          new RetryableError(
            `another connection with this host's token took over the tunnel (${reason}): is the agent running twice?`,
            SLOW_RETRY_MS,
          ),
        );
      } else {
        finish(new RetryableError(`tunnel closed (code ${code}${reason ? `, ${reason}` : ''})`));
      }
    });
    ws.on('message', (data, isBinary) => {
      if (settled) return; // a closing socket may still deliver frames: this connection is over
      lastSeen = clock.now();
      if (isBinary) {
        if (opts.onBinary && welcomed) opts.onBinary(data as Buffer);
        else log.debug('binary frame on the control connection ignored');
        return;
      }
      const decoded = decodeControl(data.toString());
      if (!decoded.ok) {
        if (decoded.error === 'unknown_type') log.info('unknown message type ignored', { type: decoded.type });
        else log.warn('bad frame from the edge ignored', { error: decoded.error, type: decoded.type });
        return;
      }
      const msg = decoded.value;
      if (msg.type === MSG.ping) {
        send(encodeControl({ type: MSG.pong, ts: msg.ts }));
        return;
      }
      if (msg.type === MSG.pong) return;
      if (msg.type === MSG.welcome) {
        if (msg.protocol !== PROTOCOL_VERSION) {
          ws.close(CLOSE_CODE.protocolMismatch, 'protocol mismatch');
          finish(
            new RetryableError(
              `the edge speaks protocol ${msg.protocol}, this agent ${PROTOCOL_VERSION}: upgrade one of them`,
              SLOW_RETRY_MS,
            ),
          );
          return;
        }
        if (welcomed) log.warn('second welcome on one connection: applying it');
        welcomed = true;
        clearTimeout(welcomeTimer);
        startHeartbeat(msg.heartbeat_ms > 0 ? msg.heartbeat_ms : opts.heartbeatMs);
        ctx.connected();
        log.info('tunnel connected', { host_id: msg.host_id, routes: msg.routes.length });
        opts.onOpen(msg, send, ws);
        return;
      }
      // Messages before the welcome are handled too (a command sent during the edge's reconciliation);
      // their answers wait in the send queue until the welcome opens it.
      try {
        opts.onMessage(msg);
      } catch (err) {
        log.error('handling a message failed', { type: msg.type, err });
      }
    });

    function startHeartbeat(everyMs: number) {
      heartbeat = setInterval(() => {
        const silent = clock.now() - lastSeen;
        if (silent >= everyMs * opts.missedHeartbeats) {
          finish(new RetryableError(`no heartbeat from the edge for ${silent} ms`));
          return;
        }
        send(encodeControl({ type: MSG.ping, ts: clock.now() }));
      }, everyMs);
    }
  });
}
