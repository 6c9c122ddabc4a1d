// Test helpers inside workerd: call the Worker like a client, make users, hosts, and a small protocol-speaking agent.
import { exports as workerExports, env } from 'cloudflare:workers';
import {
  MSG,
  PROTOCOL_VERSION,
  decodeControl,
  encodeControl,
  type Command,
  type ContainerReport,
  type HostInventory,
  type Route,
} from '@remotegpu/schema';
import { readResult, type ApiResult } from '../../dev/src/json-api.ts';

export const ORIGIN = 'http://edge.test';
const worker = (workerExports as unknown as { default: { fetch(req: Request): Promise<Response> } }).default;
export const bindings = env as unknown as {
  REMOTEGPU_ADMIN_EMAIL: string;
  REMOTEGPU_ADMIN_PASSWORD: string;
  UPSTASH_REDIS_REST_URL: string;
  UPSTASH_REDIS_REST_TOKEN: string;
  LIBSQL_URL: string;
  LIBSQL_AUTH_TOKEN: string;
};

export interface CallOptions {
  method?: string;
  token?: string;
  body?: unknown;
  raw?: string;
  headers?: Record<string, string>;
  /** Scheme and host the request is made to (default ORIGIN). */
  url?: string;
}

export async function call(path: string, o: CallOptions = {}): Promise<Response> {
  // Each call comes from its own client address (a header only), so per-IP login limits stay per test.
  const headers: Record<string, string> = {
    'cf-connecting-ip': `198.18.${n % 250}.${Math.floor(Math.random() * 250)}`,
    ...(o.headers ?? {}),
  };
  n++;
  if (o.token) headers.authorization = `Bearer ${o.token}`;
  let body: string | undefined;
  if (o.raw !== undefined) body = o.raw;
  else if (o.body !== undefined) body = JSON.stringify(o.body);
  if (body !== undefined) headers['content-type'] ??= 'application/json';
  return worker.fetch(
    new Request(`${o.url ?? ORIGIN}${path}`, {
      method: o.method ?? (body !== undefined ? 'POST' : 'GET'),
      headers,
      body,
    }),
  );
}

/** `call` read as `{status, body}` (the Worker is driven in-process here, so the stack kit's `jsonApi` cannot make the call). */
export async function json<T = Record<string, unknown>>(path: string, o: CallOptions = {}): Promise<ApiResult<T>> {
  return readResult<T>(await call(path, o));
}

let n = 0;
export const unique = (p = 'x') =>
  `${p}${Date.now().toString(36)}${(n++).toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;

export async function registerUser(): Promise<{ token: string; id: string; email: string }> {
  const email = `${unique('u')}@example.test`;
  const r = await json<{ token: string; user: { id: string } }>('/api/v1/auth/register', {
    body: { email, password: 'correct horse battery' },
  });
  if (r.status !== 201) throw new Error(`register failed ${r.status} ${JSON.stringify(r.body)}`);
  return { token: r.body.token, id: r.body.user.id, email };
}

let adminToken: string | null = null;
export async function admin(): Promise<string> {
  if (adminToken) return adminToken;
  const r = await json<{ token: string }>('/api/v1/auth/login', {
    body: { email: bindings.REMOTEGPU_ADMIN_EMAIL, password: bindings.REMOTEGPU_ADMIN_PASSWORD },
  });
  if (r.status !== 200) throw new Error(`admin login failed ${r.status} ${JSON.stringify(r.body)}`);
  adminToken = r.body.token;
  return adminToken;
}

/** Adds a loopback "physical" machine (127.0.0.2, 1 GPU, monthly price 100) on `hostId`; returns its `machines.id`. */
export async function addLoopbackMachine(hostId: string): Promise<number> {
  const m = await json<{ machine: { id: number } }>('/api/v1/admin/machines', {
    token: await admin(),
    body: {
      name: unique('m-'),
      region: 'r',
      gpu_model: 'g',
      gpu_count: 1,
      gpu_memory: 24,
      cpu_cores: 8,
      memory_gb: 32,
      disk_gb: 100,
      target_ip: '127.0.0.2',
      host_id: hostId,
      monthly_price: 100,
    },
  });
  if (m.status !== 201) throw new Error(`add machine failed ${m.status} ${JSON.stringify(m.body)}`);
  return m.body.machine.id;
}

/** Adds a loopback "physical" machine on `hostId` and rents it as `owner`; returns the environment id. */
export async function physicalEnv(hostId: string, owner: { token: string }): Promise<string> {
  const machineId = await addLoopbackMachine(hostId);
  const e = await json<{ environment: { id: string } }>(`/api/v1/market/machines/${machineId}/allocate`, {
    token: owner.token,
    body: {},
  });
  if (e.status !== 201) throw new Error(`allocate failed ${e.status} ${JSON.stringify(e.body)}`);
  return e.body.environment.id;
}

/** Drains every relay other tests left online, so placement lands on the one a test connects next. */
export async function drainAllHosts(): Promise<void> {
  const hosts = await json<{ items: { id: string }[] }>('/api/v1/admin/hosts', { token: await admin() });
  for (const h of hosts.body.items)
    await json(`/api/v1/admin/hosts/${h.id}`, { method: 'PATCH', token: await admin(), body: { drained: true } });
}

export async function createHost(): Promise<{ id: string; token: string; install_command: string }> {
  const r = await json<{ host: { id: string }; token: string; install_command: string }>('/api/v1/admin/hosts', {
    token: await admin(),
    body: { name: unique('host-'), public_ssh_host: '127.0.0.1' },
  });
  if (r.status !== 201) throw new Error(`host create failed ${r.status} ${JSON.stringify(r.body)}`);
  return { id: r.body.host.id, token: r.body.token, install_command: r.body.install_command };
}

export const INVENTORY: HostInventory = {
  cpu_cores: 64,
  memory_bytes: 256 * 1024 ** 3,
  gpus: [0, 1, 2, 3].map((i) => ({ index: i, uuid: `GPU-${i}`, name: 'RTX 4090', memory_mib: 24564 })),
  docker_version: '26.1.5',
  nvidia_runtime: true,
};

export type CommandHandler = (
  cmd: Command,
) => Promise<{ ok: true; data?: unknown } | { ok: false; code: string; message: string } | 'drop' | 'hang'>;

/** A minimal relay agent: hello, answers commands through `onCommand`, keeps the route set it is sent. */
export class TestAgent {
  routes = new Map<string, Route>();
  commands: Command[] = [];
  closed: { code: number; reason: string } | null = null;
  private welcomed!: Promise<void>;
  constructor(
    readonly ws: WebSocket,
    public onCommand: CommandHandler,
  ) {}

  static async connect(
    token: string,
    opts: {
      inventory?: HostInventory;
      containers?: ContainerReport[];
      protocol?: number;
      onCommand?: CommandHandler;
      hello?: Record<string, unknown>;
    } = {},
  ): Promise<TestAgent> {
    const res = await call('/agent/connect', { token, headers: { upgrade: 'websocket' } });
    if (res.status !== 101 || !res.webSocket)
      throw new Error(`agent connect failed: ${res.status} ${await res.text()}`);
    const ws = res.webSocket;
    ws.accept();
    const agent = new TestAgent(ws, opts.onCommand ?? (async () => ({ ok: true, data: {} })));
    agent.welcomed = new Promise((resolve) => {
      ws.addEventListener('message', (e) => {
        void agent.onMessage(e.data, resolve);
      });
    });
    ws.addEventListener('close', (e) => {
      agent.closed = { code: e.code, reason: e.reason };
    });
    ws.send(
      encodeControl({
        type: MSG.hello,
        protocol: opts.protocol ?? PROTOCOL_VERSION,
        agent_version: '0.0.0-test',
        role: 'control',
        inventory: opts.inventory ?? INVENTORY,
        containers: opts.containers ?? [],
        ...(opts.hello ?? {}),
      } as Parameters<typeof encodeControl>[0]),
    );
    return agent;
  }

  ready(): Promise<void> {
    return this.welcomed;
  }

  private async onMessage(data: unknown, welcomed: () => void): Promise<void> {
    const d = decodeControl(data);
    if (!d.ok) return;
    const m = d.value;
    if (m.type === MSG.welcome) {
      this.routes = new Map(m.routes.map((r) => [r.environment_id, r]));
      welcomed();
    } else if (m.type === MSG.routeUpsert) {
      this.routes.set(m.route.environment_id, m.route);
    } else if (m.type === MSG.routeRemove) {
      this.routes.delete(m.environment_id);
    } else if (m.type === MSG.ping) {
      this.ws.send(encodeControl({ type: MSG.pong, ts: m.ts }));
    } else if (m.type === MSG.cmd) {
      this.commands.push(m);
      const r = await this.onCommand(m);
      if (r === 'hang') return;
      if (r === 'drop') {
        this.ws.close(1001, 'agent going away');
        return;
      }
      this.ws.send(
        JSON.stringify(
          r.ok
            ? { type: MSG.result, id: m.id, ok: true, data: r.data }
            : { type: MSG.result, id: m.id, ok: false, error: { code: r.code, message: r.message, retryable: false } },
        ),
      );
    }
  }

  send(msg: unknown): void {
    this.ws.send(typeof msg === 'string' ? msg : JSON.stringify(msg));
  }

  close(): void {
    try {
      this.ws.close(1000, 'test done');
    } catch {
      /* closed */
    }
  }
}
