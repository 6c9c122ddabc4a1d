// The edge killed (its workerd stopped) during a create, a delete and a rental, then started again on the same port
// with its state: every environment ends consistent (one container at most, nothing left `creating` or `deleting`:
// the create deadline, 8 s here instead of 30 min via REMOTEGPU_CREATE_DEADLINE_MS, fails a lost create), and a
// machine is allocated exactly when an environment holds it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { until } from '../../dev/src/until.ts';
import { docker } from '../support/services.ts';
import { sshPassword } from '../support/ssh-login.ts';
import { faultRig, type FaultRig } from './support.ts';

type Env = {
  id: string;
  name: string;
  status: string;
  status_reason: string | null;
  physical_machine_id: number | null;
};
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('the edge killed mid-operation', () => {
  let rig: FaultRig;
  let renter: string;
  let port: number;
  const envs = async () =>
    (await rig.p.api<{ items: Env[] }>('/api/v1/environments', { token: renter })).body.items ?? [];
  const containers = async (id: string) =>
    (await docker(['ps', '-a', '--filter', `label=remotegpu.env=${id}`, '--format', '{{.State}}']))
      .split('\n')
      .filter(Boolean);
  /** Kills the edge, runs `meanwhile`, starts it again on the same port. */
  let restartedAt = 0;
  const restartEdge = async (meanwhile: () => Promise<void> = async () => undefined) => {
    await rig.p.stopEdge();
    await meanwhile();
    restartedAt = Date.now();
    await rig.p.startEdge(port);
  };
  const create = (name: string) =>
    rig.p
      .api('/api/v1/environments', {
        token: renter,
        body: { name, image_id: rig.busybox, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
      })
      .catch((err: unknown) => err);
  /** The environment leaves creating/deleting; running exactly when its one container runs. */
  const settled = async (id: string) => {
    // Eventually (the relay's hello reconciles): settled, and running exactly when its one container runs.
    const env = await until(
      `${id} settled`,
      async () => {
        const e = (await envs()).find((x) => x.id === id);
        if (e && ['creating', 'deleting'].includes(e.status)) return null;
        const c = await containers(id);
        expect(c.length).toBeLessThanOrEqual(1);
        return (e?.status === 'running') === (c[0] === 'running') ? (e ?? { status: 'gone' }) : null;
      },
      { timeout: 45_000, interval: 500 },
    );
    return env as Env | { status: 'gone' };
  };

  beforeAll(async () => {
    rig = await faultRig({ sshPorts: '28800-28899', vars: { REMOTEGPU_CREATE_DEADLINE_MS: '8000' } });
    renter = await rig.p.renter();
    port = rig.p.port;
  }, 180_000);

  afterAll(async () => {
    if (rig?.relay.signalCode === null) rig.relay.kill('SIGCONT');
    await rig?.p.close();
  }, 60_000);

  it('during a create the relay never answered (it was restarted too): the create deadline fails it, no container', async () => {
    rig.relay.kill('SIGSTOP');
    void create('lost-create');
    const env = await until(
      'the environment creating',
      async () => (await envs()).find((e) => e.name === 'lost-create'),
      {
        timeout: 20_000,
      },
    );
    expect(env.status).toBe('creating');
    await restartEdge(async () => {
      const exited = new Promise((r) => rig.relay.once('exit', r));
      rig.relay.kill('SIGKILL');
      await exited;
    });
    rig.startRelay();
    await rig.online(true, restartedAt);
    const after = await settled(env.id);
    expect(after).toMatchObject({ status: 'failed', status_reason: expect.stringMatching(/did not finish/) });
    expect(await containers(env.id)).toEqual([]);
    // A failed environment can be deleted as usual.
    const del = await rig.p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter });
    expect(del.status).toBeLessThan(300);
  }, 120_000);

  it('during a create the relay finished: its next hello makes the environment running, with one container', async () => {
    const pending = create('raced-create');
    await until('the environment creating', async () => (await envs()).some((e) => e.name === 'raced-create'), {
      timeout: 20_000,
      interval: 50,
    });
    await restartEdge();
    await pending;
    await rig.online(true, restartedAt);
    const id = (await envs()).find((e) => e.name === 'raced-create')!.id;
    const after = await settled(id);
    expect(['running', 'failed']).toContain(after.status);
    if (after.status === 'running') {
      const access = (
        await rig.p.api<{ ssh_host: string; ssh_port: number; ssh_username: string; ssh_password: string }>(
          `/api/v1/environments/${id}/access`,
          { token: renter },
        )
      ).body;
      await until('login', async () => (await sshPassword(access, 'true')).code === 0, { timeout: 30_000 });
    }
    await rig.p.api(`/api/v1/environments/${id}`, { method: 'DELETE', token: renter });
    await until('deleted', async () => !(await envs()).some((e) => e.id === id), { timeout: 30_000 });
    expect(await containers(id)).toEqual([]);
  }, 120_000);

  it('during a delete: after the restart the environment is gone or deletable, never stuck, its container removed', async () => {
    const made = await rig.container(renter, 'deleted-midway');
    await until('running', async () => (await envs()).find((e) => e.id === made.id)?.status === 'running', {
      timeout: 30_000,
    });
    const pending = rig.p.api(`/api/v1/environments/${made.id}`, { method: 'DELETE', token: renter }).catch(() => null);
    await sleep(100);
    await restartEdge();
    await pending;
    await rig.online(true, restartedAt);
    const after = await settled(made.id);
    if (after.status !== 'gone') {
      // The renter's delete was cut off: asking again finishes it.
      const again = await rig.p.api(`/api/v1/environments/${made.id}`, { method: 'DELETE', token: renter });
      expect(again.status).toBeLessThan(300);
      await until('deleted', async () => !(await envs()).some((e) => e.id === made.id), { timeout: 30_000 });
    }
    await until('its container removed', async () => (await containers(made.id)).length === 0, { timeout: 30_000 });
  }, 120_000);

  it('during a rental: a machine is allocated exactly when an environment holds it', async () => {
    const admin = await rig.p.admin();
    const m = await rig.p.api<{ machine: { id: number } }>('/api/v1/admin/machines', {
      token: admin,
      body: {
        name: 'rented-midway',
        region: 'lo',
        gpu_model: 'none',
        gpu_count: 1,
        gpu_memory: 1,
        cpu_cores: 2,
        memory_gb: 1,
        disk_gb: 1,
        target_ip: '127.0.0.8',
        ssh_port: 22,
        host_id: rig.hostId,
        monthly_price: 1,
      },
    });
    const machineId = m.body.machine.id;
    const pending = rig.p
      .api(`/api/v1/market/machines/${machineId}/allocate`, { token: renter, body: {} })
      .catch(() => null);
    await sleep(30);
    await restartEdge();
    await pending;
    await rig.online(true, restartedAt);
    const machine = async () =>
      (
        await rig.p.api<{ items: { id: number; status: string }[] }>('/api/v1/admin/machines', { token: admin })
      ).body.items.find((x) => x.id === machineId)!;
    const holder = (await envs()).find((e) => e.physical_machine_id === machineId);
    expect((await machine()).status).toBe(holder ? 'allocated' : 'available');
    // Either way the renter can finish: rent it (again) or release it.
    if (holder) {
      await rig.p.api(`/api/v1/environments/${holder.id}`, { method: 'DELETE', token: renter });
    } else {
      const again = await rig.p.api<{ environment: { id: string } }>(`/api/v1/market/machines/${machineId}/allocate`, {
        token: renter,
        body: {},
      });
      expect(again.body.environment).toBeDefined();
      await rig.p.api(`/api/v1/environments/${again.body.environment.id}`, { method: 'DELETE', token: renter });
    }
    await until('the machine back in the pool', async () => (await machine()).status === 'available', {
      timeout: 30_000,
    });
  }, 120_000);
});
