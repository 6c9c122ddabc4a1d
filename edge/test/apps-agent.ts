// A data-shard test agent inside workerd: speaks the binary frames and serves fake app responses by path.
import {
  FLAG_TEXT,
  FRAME,
  INITIAL_CREDIT,
  MSG,
  OpenHead,
  PROTOCOL_VERSION,
  type ResponseHead,
  closePayload,
  creditPayload,
  decodeControl,
  decodeFrame,
  decodeHead,
  encodeCompleteHead,
  encodeControl,
  encodeFrame,
  encodeJsonPayload,
  readClose,
  readCredit,
  type Frame,
} from '@remotegpu/schema';
import { call } from './helpers.ts';

interface Stream {
  open: OpenHead;
  body: number;
  hash: number;
  credit: number;
  creditWake: (() => void) | null;
}

const enc = new TextEncoder();

/** What a fake app does for a path: `/echo` (the open head as JSON), `/stream`, `/big/<bytes>`, `/upload`, `/reset`, `/hang`, and WebSockets echo. */
export class DataAgent {
  readonly opens: OpenHead[] = [];
  readonly resets: { stream: number; code: number; reason: string }[] = [];
  readonly credits: number[] = [];
  readonly wsCloses: { code: number; reason: string }[] = [];
  /** WS_PART frames received (leading parts of messages over one frame). */
  wsParts = 0;
  /** `/stream` waits for these before sending its second chunk and its end. */
  release: () => void = () => {};
  private readonly streams = new Map<number, Stream>();
  private welcomed!: Promise<void>;
  private inbox: Promise<void> = Promise.resolve();

  private constructor(readonly ws: WebSocket) {}

  static async connect(token: string, shard = 0, shards = 1): Promise<DataAgent> {
    const res = await call(`/agent/connect?role=data&shard=${shard}&shards=${shards}`, {
      token,
      headers: { upgrade: 'websocket' },
    });
    if (res.status !== 101 || !res.webSocket) throw new Error(`data connect failed: ${res.status} ${await res.text()}`);
    const ws = res.webSocket;
    ws.accept();
    const agent = new DataAgent(ws);
    agent.welcomed = new Promise((resolve) => {
      ws.addEventListener('message', (e) => {
        if (typeof e.data === 'string') {
          const d = decodeControl(e.data);
          if (d.ok && d.value.type === MSG.welcome) resolve();
          return;
        }
        // Binary messages arrive as Blobs here: decode them in arrival order.
        agent.inbox = agent.inbox.then(async () => {
          const f = decodeFrame(e.data instanceof Blob ? await e.data.arrayBuffer() : (e.data as ArrayBuffer));
          if (f.ok) await agent.onFrame(f.frame);
        });
      });
    });
    ws.send(
      encodeControl({ type: MSG.hello, protocol: PROTOCOL_VERSION, agent_version: '0.0.0-test', role: 'data', shard }),
    );
    await agent.welcomed;
    return agent;
  }

  private send(kind: (typeof FRAME)[keyof typeof FRAME], stream: number, payload?: Uint8Array, flags = 0): void {
    this.ws.send(encodeFrame(kind, stream, payload, flags));
  }

  private head(stream: number, status: number, headers: [string, string][], websocket = false): void {
    this.send(FRAME.head, stream, encodeJsonPayload({ status, headers, websocket } satisfies ResponseHead));
  }

  private async onFrame(f: Frame): Promise<void> {
    const s = this.streams.get(f.stream);
    switch (f.kind) {
      case FRAME.open: {
        const h = decodeHead(OpenHead, f.payload);
        if (!h.ok) return;
        this.opens.push(h.value);
        this.streams.set(f.stream, { open: h.value, body: 0, hash: 0, credit: INITIAL_CREDIT, creditWake: null });
        if (!h.value.has_body) void this.respond(f.stream);
        return;
      }
      case FRAME.data:
        if (!s) return;
        s.body += f.payload.byteLength;
        for (const b of f.payload) s.hash = (s.hash * 31 + b) >>> 0;
        // Grant back what arrived, as a target's socket would drain it.
        this.send(FRAME.credit, f.stream, creditPayload(f.payload.byteLength));
        return;
      case FRAME.end:
        void this.respond(f.stream);
        return;
      case FRAME.credit:
        this.credits.push(readCredit(f.payload));
        if (s) {
          s.credit += readCredit(f.payload);
          s.creditWake?.();
        }
        return;
      case FRAME.reset:
        this.resets.push({ stream: f.stream, ...readClose(f.payload) });
        this.streams.delete(f.stream);
        return;
      case FRAME.wsPart:
        this.wsParts++;
        this.send(FRAME.wsPart, f.stream, f.payload, f.flags);
        return; // echo, part by part
      case FRAME.wsMessage:
        if (f.flags & FLAG_TEXT && new TextDecoder().decode(f.payload) === 'close-me') {
          this.send(FRAME.wsClose, f.stream, closePayload(4100, 'app says bye'));
          return;
        }
        this.send(FRAME.wsMessage, f.stream, f.payload, f.flags); // echo
        return;
      case FRAME.wsClose:
        this.wsCloses.push(readClose(f.payload));
        return;
      default:
    }
  }

  private async respond(id: number): Promise<void> {
    const s = this.streams.get(id)!;
    const path = s.open.path.split('?')[0]!;
    if (s.open.websocket) return this.head(id, 101, [['sec-websocket-protocol', 'jupyter']], true);
    if (path === '/echo') {
      this.ws.send(
        encodeCompleteHead(
          id,
          encodeJsonPayload({
            status: 200,
            headers: [
              ['content-type', 'application/json'],
              ['connection', 'x-app-hop'],
              ['x-app-hop', '1'],
            ],
            websocket: false,
          }),
          enc.encode(JSON.stringify(s.open)),
        ),
      );
    } else if (path === '/upload') {
      this.ws.send(
        encodeCompleteHead(
          id,
          encodeJsonPayload({ status: 200, headers: [], websocket: false }),
          enc.encode(JSON.stringify({ bytes: s.body, hash: s.hash })),
        ),
      );
    } else if (path === '/stream') {
      this.head(id, 200, [['content-type', 'text/event-stream']]);
      this.send(FRAME.data, id, enc.encode('data: one\n\n'));
      await new Promise<void>((r) => {
        this.release = r;
      });
      this.send(FRAME.data, id, enc.encode('data: two\n\n'));
      this.send(FRAME.end, id);
    } else if (path.startsWith('/big/')) {
      const total = Number(path.slice(5));
      this.head(id, 200, [
        ['content-type', 'application/octet-stream'],
        ['content-length', String(total)],
      ]);
      const chunk = new Uint8Array(1024 * 1024).fill(7);
      for (let sent = 0; sent < total; ) {
        const n = Math.min(chunk.byteLength, total - sent);
        while (s.credit < n) {
          if (!this.streams.has(id)) return;
          await new Promise<void>((r) => {
            s.creditWake = r;
          });
        }
        s.credit -= n;
        this.send(FRAME.data, id, chunk.subarray(0, n));
        sent += n;
      }
      this.send(FRAME.end, id);
    } else if (path === '/reset') {
      this.send(FRAME.reset, id, closePayload(2, 'connect ECONNREFUSED 127.0.0.2:8888'));
    } else if (path === '/hang') {
      // never answers
    } else {
      this.head(id, 404, [['content-type', 'text/plain']]);
      this.send(FRAME.data, id, enc.encode('no such page'));
      this.send(FRAME.end, id);
    }
  }

  close(): void {
    try {
      this.ws.close(1000, 'test done');
    } catch {
      /* closed */
    }
  }
}
