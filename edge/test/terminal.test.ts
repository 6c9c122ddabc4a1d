// The terminal endpoint in workerd: who may open it (checked before any upgrade), and what the relay is asked for.
import { TERMINAL_PORT } from '@remotegpu/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DataAgent } from './apps-agent.ts';
import { ORIGIN, admin, call, createHost, json, registerUser, physicalEnv } from './helpers.ts';

const SESSION = 'edgeTerminalTest0001';

describe('GET /api/v1/environments/:id/terminal', () => {
  let owner: { token: string; id: string };
  let other: { token: string };
  let envId: string;
  let agent: DataAgent;
  const upgrade = { upgrade: 'websocket', origin: ORIGIN };
  const path = (q = `session=${SESSION}&cols=132&rows=43`) => `/api/v1/environments/${envId}/terminal?${q}`;

  beforeAll(async () => {
    owner = await registerUser();
    other = await registerUser();
    const host = await createHost();
    envId = await physicalEnv(host.id, owner);
    agent = await DataAgent.connect(host.token);
  });
  afterAll(() => agent.close());

  it('refuses strangers, other renters, admins and other sites before any upgrade', async () => {
    const status = async (o: { token?: string; headers?: Record<string, string> }) =>
      (await call(path(), { ...o, headers: { ...upgrade, ...o.headers } })).status;
    expect(await status({})).toBe(401);
    expect(await status({ token: other.token })).toBe(404);
    expect(await status({ token: await admin() })).toBe(403);
    expect(await status({ headers: { cookie: `rg_session=${owner.token}`, origin: 'http://evil.example' } })).toBe(403);
    expect(await status({ headers: { cookie: `rg_session=${owner.token}`, origin: '' } })).toBe(403);
    expect(agent.opens.filter((o) => o.terminal)).toHaveLength(0);
  });

  it('checks the session id and size, and wants an upgrade', async () => {
    expect((await call(path('session=short'), { token: owner.token, headers: upgrade })).status).toBe(422);
    expect((await call(path(`session=${SESSION}&cols=0`), { token: owner.token, headers: upgrade })).status).toBe(422);
    const plain = await json<{ error: { code: string } }>(path(), { token: owner.token });
    expect(plain.status).toBe(426);
    expect(plain.body.error.code).toBe('upgrade_required');
  });

  it("asks the owner's relay for the shell session, with the size, the user and the browser's address", async () => {
    const r = await call(path(), {
      headers: { ...upgrade, cookie: `rg_session=${owner.token}`, 'cf-connecting-ip': '203.0.113.7' },
    });
    expect(r.status).toBe(101);
    r.webSocket!.accept();
    r.webSocket!.close(1000);
    expect(agent.opens.at(-1)).toMatchObject({
      environment_id: envId,
      port: TERMINAL_PORT,
      websocket: true,
      has_body: false,
      headers: [],
      terminal: { session: SESSION, cols: 132, rows: 43, user_id: owner.id, source_ip: '203.0.113.7' },
    });
  });
});
