// Environment lifecycle on the private dockerd: persistent data volumes (stop/start, re-create with another image,
// relay restart, delete with and without retention, restore) and the no-GPU start (无卡模式).
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stopChild } from '../../dev/src/stack.ts';
import { freePort } from '../../dev/src/free-port.ts';
import { readServicesEnv } from '../../dev/src/services-env.ts';
import { until } from '../../dev/src/until.ts';
import { startPlatform, type Platform } from '../support/platform.ts';
import { docker, loadServices } from '../support/services.ts';

interface Env {
  id: string;
  status: string;
  container_id: string;
  image_id: number;
  gpu_mode: 'gpu' | 'none';
  data_bytes: number | null;
}
interface Inspect {
  Image: string;
  Config: { Image: string };
  HostConfig: { NanoCpus: number; Memory: number; DeviceRequests: unknown[] | null };
  Mounts: { Type: string; Name: string; Destination: string }[];
}
const inspect = async (id: string) => (JSON.parse(await docker(['inspect', id])) as Inspect[])[0]!;
const sh = (container: string, script: string) => docker(['exec', container, 'sh', '-c', script]);
const volumeExists = (name: string) =>
  docker(['volume', 'inspect', name]).then(
    () => true,
    () => false,
  );

const REGISTRY = String(readServicesEnv()?.REMOTEGPU_TEST_REGISTRY ?? '127.0.0.1:27900');

// ~35 s: long enough to list and restore, short enough for the sweep (every 20 s heartbeat) to be seen removing it.
const RETENTION_DAYS = '0.0004';

describe('environment lifecycle', () => {
  let p: Platform;
  let hostToken: string;
  let hostId: string;
  let stateDir: string;
  let agent: ChildProcess;
  let busybox: number;
  let stock: number;

  const spawnAgent = async () => {
    agent = p.spawnAgent(hostToken, {
      stateDir,
      sshListen: `127.0.0.1:${await freePort()}`,
      sshPorts: '27500-27599',
    });
  };
  /** The relay online, and seen by the edge after `since` (the database remembers it online across an edge restart). */
  const online = async (since = 0) => {
    const admin = await p.admin();
    await until(
      'the relay online',
      async () => {
        const l = await p.api<{ items: { id: string; status: string; last_seen_at: string | null }[] }>(
          '/api/v1/admin/hosts',
          { token: admin },
        );
        const h = l.body.items.find((i) => i.id === hostId);
        return h?.status === 'online' && Date.parse(h.last_seen_at ?? '') > since;
      },
      { timeout: 60_000 },
    );
  };
  const getEnv = async (token: string, id: string) =>
    (await p.api<{ environment: Env }>(`/api/v1/environments/${id}`, { token })).body.environment;
  const create = async (token: string, body: Record<string, unknown>) => {
    const r = await p.api<{ environment: Env }>('/api/v1/environments', {
      token,
      body: { gpu_count: 0, cpu_cores: 1, memory_gb: 1, ...body },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    return r.body.environment;
  };
  const action = async (token: string, id: string, what: string, body?: unknown) => {
    const r = await p.api<{ environment: Env }>(`/api/v1/environments/${id}/${what}`, {
      token,
      method: 'POST',
      ...(body ? { body } : {}),
    });
    expect(r.status, `${what}: ${JSON.stringify(r.body)}`).toBe(200);
    return r.body.environment;
  };

  beforeAll(async () => {
    loadServices();
    p = await startPlatform({
      vars: {
        REMOTEGPU_DATA_RETENTION_DAYS: '0',
        REMOTEGPU_NO_GPU_CPU_CORES: '1',
        REMOTEGPU_NO_GPU_MEMORY_GB: '1',
        REMOTEGPU_REGISTRY: REGISTRY,
      },
    });
    const admin = await p.admin();
    const host = await p.api<{ host: { id: string }; token: string }>('/api/v1/admin/hosts', {
      token: admin,
      body: { name: 'life-relay', public_ssh_host: '127.0.0.1' },
    });
    hostToken = host.body.token;
    hostId = host.body.host.id;
    stateDir = mkdtempSync(join(tmpdir(), 'it-life-agent-'));
    await spawnAgent();
    const image = async (name: string, ref: string) =>
      (
        await p.api<{ image: { id: number } }>('/api/v1/admin/images', {
          token: admin,
          body: { name, docker_ref: ref, hourly_price: 2, no_gpu_hourly_price: 0.1 },
        })
      ).body.image.id;
    busybox = await image('busybox:life', loadServices().busyboxImage);
    stock = await image('stock:life', loadServices().stockImage);
    await online();
  }, 120_000);

  afterAll(async () => {
    await p?.close();
  }, 60_000);

  it('data under /root/data survives stop/start, re-creation with another image and a relay restart; delete with retention 0 removes it', async () => {
    const renter = await p.renter();
    const env = await create(renter, { name: 'data', image_id: busybox });
    const volume = `remotegpu-data-${env.id}`;
    const first = await inspect(env.container_id);
    expect(first.Mounts).toEqual([
      expect.objectContaining({ Type: 'volume', Name: volume, Destination: '/root/data' }),
    ]);
    const labels = JSON.parse(await docker(['volume', 'inspect', '-f', '{{json .Labels}}', volume])) as Record<
      string,
      string
    >;
    expect(labels).toMatchObject({ 'remotegpu.env': env.id, 'remotegpu.data': env.id });
    expect(labels['remotegpu.owner']).toBeTruthy();
    await sh(env.container_id, 'head -c 300000 /dev/zero > /root/data/weights.bin && echo kept > /root/data/note');

    await action(renter, env.id, 'stop');
    await action(renter, env.id, 'start');
    expect(await sh(env.container_id, 'cat /root/data/note')).toBe('kept\n');

    const moved = await action(renter, env.id, 'recreate', { image_id: stock });
    expect(moved.container_id).not.toBe(env.container_id);
    expect(moved.image_id).toBe(stock);
    expect((await inspect(moved.container_id)).Config.Image).toBe(loadServices().stockImage);
    expect(await sh(moved.container_id, 'cat /root/data/note')).toBe('kept\n');
    await expect(docker(['inspect', env.container_id])).rejects.toThrow();

    await stopChild(agent);
    const restarted = Date.now();
    await spawnAgent();
    await online(restarted);
    expect(await sh(moved.container_id, 'cat /root/data/note')).toBe('kept\n');
    const data = await p.api<{ volume: string; data_path: string; bytes: number }>(
      `/api/v1/environments/${env.id}/data`,
      { token: renter },
    );
    expect(data.status).toBe(200);
    expect(data.body).toMatchObject({ volume, data_path: '/root/data' });
    expect(data.body.bytes).toBeGreaterThanOrEqual(300_000);
    expect((await getEnv(renter, env.id)).data_bytes).toBe(data.body.bytes);
    expect((await p.api(`/api/v1/environments/${env.id}/data`, { token: await p.renter() })).status).toBe(404);

    expect((await p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter })).status).toBe(204);
    expect(await volumeExists(volume)).toBe(false);
    expect((await p.api<{ items: unknown[] }>('/api/v1/data-volumes', { token: renter })).body.items).toEqual([]);
  }, 180_000);

  it('no-GPU start: no device request, the small share, same data and system files, the no-GPU price; back with GPUs after', async () => {
    const renter = await p.renter();
    const env = await create(renter, { name: 'nogpu', image_id: busybox, cpu_cores: 2, memory_gb: 2 });
    await sh(env.container_id, 'echo data > /root/data/d && echo sys > /etc/installed-by-renter');
    await action(renter, env.id, 'stop');
    const bad = await p.api<{ error: { code: string } }>(`/api/v1/environments/${env.id}/start`, {
      token: renter,
      body: { gpu: 'no' },
    });
    expect(bad.status).toBe(422);

    const light = await action(renter, env.id, 'start', { gpu: false });
    expect(light.gpu_mode).toBe('none');
    expect(light.status).toBe('running');
    const i = await inspect(light.container_id);
    expect(i.HostConfig.DeviceRequests ?? []).toEqual([]);
    expect(i.HostConfig).toMatchObject({ NanoCpus: 1e9, Memory: 1024 ** 3 });
    expect(await sh(light.container_id, 'cat /root/data/d /etc/installed-by-renter')).toBe('data\nsys\n');
    expect((await p.api(`/api/v1/environments/${env.id}/start`, { token: renter, body: { gpu: false } })).status).toBe(
      409,
    );

    await action(renter, env.id, 'stop');
    const back = await action(renter, env.id, 'start');
    expect(back.gpu_mode).toBe('gpu');
    expect((await inspect(back.container_id)).HostConfig).toMatchObject({ NanoCpus: 2e9, Memory: 2 * 1024 ** 3 });
    expect(await sh(back.container_id, 'cat /root/data/d /etc/installed-by-renter')).toBe('data\nsys\n');

    const usage = await p.api<{ items: { environment_id: string; unit_price: number; period_end: string | null }[] }>(
      '/api/v1/usage',
      { token: renter },
    );
    const prices = usage.body.items
      .filter((u) => u.environment_id === env.id)
      .reverse()
      .map((u) => u.unit_price);
    // created (GPU price), started without GPUs (no-GPU price), started with GPUs again.
    expect(prices).toEqual([2, 0.1, 2]);
    // One system commit is kept while the environment lives (the current container's image), none after.
    const commits = () =>
      docker(['images', '-q', `remotegpu-system/${env.id}`]).then((o) => o.split('\n').filter(Boolean));
    expect(await commits()).toHaveLength(1);
    await p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter });
    expect(await commits()).toEqual([]);
  }, 180_000);

  it('save as image: pushed to the registry, listed for its owner only, usable after a pull, deletable', async () => {
    const renter = await p.renter();
    const env = await create(renter, { name: 'snap', image_id: busybox });
    await sh(env.container_id, 'mkdir -p /opt/model && echo tuned > /opt/model/config && echo mine > /root/data/d');
    const saved = await p.api<{ image: { id: number; status: string; docker_ref: string } }>(
      `/api/v1/environments/${env.id}/save-image`,
      { token: renter, body: { name: 'my snapshot' } },
    );
    expect(saved.status, JSON.stringify(saved.body)).toBe(202);
    expect(saved.body.image.status).toBe('saving');
    const id = saved.body.image.id;
    const ref = saved.body.image.docker_ref;
    expect(ref).toMatch(new RegExp(`^${REGISTRY.replace(/\./g, '\\.')}/saved/[a-z0-9]{16}:latest$`));
    const ready = await until(
      'the image pushed',
      async () => {
        const r = await p.api<{ image: { status: string; status_reason: string | null; size_bytes: number | null } }>(
          `/api/v1/images/${id}`,
          { token: renter },
        );
        if (r.body.image.status === 'failed') throw new Error(`save failed: ${r.body.image.status_reason}`);
        return r.body.image.status === 'ready' ? r.body.image : null;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(ready.size_bytes).toBeGreaterThan(0);
    const repo = ref.slice(REGISTRY.length + 1, ref.lastIndexOf(':'));
    const catalog = (await (await fetch(`http://${REGISTRY}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(catalog.repositories).toContain(repo);

    const mine = await p.api<{ items: { id: number; description: string }[] }>('/api/v1/images', { token: renter });
    expect(mine.body.items).toContainEqual(expect.objectContaining({ id, description: 'my snapshot' }));
    const other = await p.renter();
    expect((await p.api(`/api/v1/images/${id}`, { token: other })).status).toBe(404);
    const theirs = await p.api<{ items: { id: number }[] }>('/api/v1/images', { token: other });
    expect(theirs.body.items.map((i) => i.id)).not.toContain(id);
    const borrowed = await p.api('/api/v1/environments', {
      token: other,
      body: { name: 'x', image_id: id, gpu_count: 0, cpu_cores: 1, memory_gb: 1 },
    });
    expect(borrowed.status).toBe(422);

    // As on another host: not there locally, pulled from the registry.
    await docker(['rmi', ref]);
    const fromSaved = await create(renter, { name: 'from-snap', image_id: id });
    expect(await sh(fromSaved.container_id, 'cat /opt/model/config')).toBe('tuned\n');
    // The data volume is not part of the image: the new environment starts with empty data.
    expect(await sh(fromSaved.container_id, 'ls -A /root/data')).toBe('');
    expect(
      (await p.api<{ error: { code: string } }>(`/api/v1/images/${id}`, { method: 'DELETE', token: renter })).body.error
        .code,
    ).toBe('image_in_use');
    expect((await p.api(`/api/v1/images/${id}`, { method: 'DELETE', token: other })).status).toBe(404);
    await p.api(`/api/v1/environments/${fromSaved.id}`, { method: 'DELETE', token: renter });
    expect((await p.api(`/api/v1/images/${id}`, { method: 'DELETE', token: renter })).status).toBe(204);
    expect((await p.api(`/api/v1/images/${id}`, { token: renter })).status).toBe(404);
    const manifest = await fetch(`http://${REGISTRY}/v2/${repo}/manifests/latest`, {
      headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' },
    });
    expect(manifest.status).toBe(404);
    await p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter });
  }, 180_000);

  it('clone: a new environment on the same host with the system files and a copy of the data', async () => {
    const renter = await p.renter();
    const src = await create(renter, { name: 'src', image_id: busybox });
    await sh(src.container_id, 'echo weights > /root/data/w && mkdir -p /opt/env && echo deps > /opt/env/lock');
    const r = await p.api<{ environment: Env }>(`/api/v1/environments/${src.id}/clone`, {
      token: renter,
      body: { name: 'copy' },
    });
    expect(r.status, JSON.stringify(r.body)).toBe(201);
    const copy = r.body.environment;
    expect(copy.id).not.toBe(src.id);
    expect((await inspect(copy.container_id)).Mounts).toEqual([
      expect.objectContaining({ Name: `remotegpu-data-${copy.id}`, Destination: '/root/data' }),
    ]);
    expect(await sh(copy.container_id, 'cat /root/data/w /opt/env/lock')).toBe('weights\ndeps\n');
    // A copy, not a shared volume: writes on one side stay there.
    await sh(copy.container_id, 'echo new > /root/data/only-in-copy');
    expect(await sh(src.container_id, 'ls /root/data')).toBe('w\n');
    const other = await p.renter();
    expect((await p.api(`/api/v1/environments/${src.id}/clone`, { token: other, body: { name: 'x' } })).status).toBe(
      404,
    );
    await p.api(`/api/v1/environments/${copy.id}`, { method: 'DELETE', token: renter });
    await p.api(`/api/v1/environments/${src.id}`, { method: 'DELETE', token: renter });
  }, 120_000);

  it('scheduled stop: the relay warns, then stops the environment at its time by itself; billing stops', async () => {
    const renter = await p.renter();
    const env = await create(renter, { name: 'timer', image_id: busybox });
    const past = await p.api(`/api/v1/environments/${env.id}/auto-stop`, {
      method: 'PUT',
      token: renter,
      body: { idle_stop_minutes: null, scheduled_stop_at: new Date(Date.now() - 1000).toISOString() },
    });
    expect(past.status).toBe(422);
    const at = Date.now() + 8000;
    const set = await p.api<{ environment: { scheduled_stop_at: string; idle_stop_minutes: number | null } }>(
      `/api/v1/environments/${env.id}/auto-stop`,
      { method: 'PUT', token: renter, body: { idle_stop_minutes: 30, scheduled_stop_at: new Date(at).toISOString() } },
    );
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body.environment).toMatchObject({
      idle_stop_minutes: 30,
      scheduled_stop_at: new Date(at).toISOString(),
    });
    await until(
      'the environment stopped by the relay',
      async () => (await getEnv(renter, env.id)).status === 'stopped',
      {
        timeout: 60_000,
        interval: 500,
      },
    );
    expect(Date.now()).toBeGreaterThanOrEqual(at);
    const events = await until(
      'the warning and the stop in the audit trail',
      async () => {
        const e = await p.api<{ items: { event: string; timestamp: string }[] }>(
          `/api/v1/audit-events?environment_id=${env.id}`,
          { token: renter },
        );
        const mine = e.body.items.filter((x) => x.event.startsWith('environment.scheduled_stop'));
        return mine.length >= 2 ? mine : null;
      },
      { timeout: 30_000, interval: 500 },
    );
    const order = [...events].sort((x, y) => x.timestamp.localeCompare(y.timestamp)).map((x) => x.event);
    expect(order).toEqual(['environment.scheduled_stop_warning', 'environment.scheduled_stop']);
    const usage = await p.api<{ items: { environment_id: string; period_end: string | null }[] }>('/api/v1/usage', {
      token: renter,
    });
    expect(usage.body.items.filter((u) => u.environment_id === env.id && u.period_end === null)).toEqual([]);
    await p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter });
  }, 120_000);

  it('with retention, deleted data is listed to its owner only, restorable, and swept when it expires', async () => {
    const port = p.port;
    await p.stopEdge();
    const restarted = Date.now();
    await p.startEdge(port, { REMOTEGPU_DATA_RETENTION_DAYS: RETENTION_DAYS });
    await online(restarted);
    const renter = await p.renter();
    const env = await create(renter, { name: 'keep', image_id: busybox });
    const volume = `remotegpu-data-${env.id}`;
    await sh(env.container_id, 'echo precious > /root/data/p');
    expect((await p.api(`/api/v1/environments/${env.id}`, { method: 'DELETE', token: renter })).status).toBe(204);
    expect(await volumeExists(volume)).toBe(true);

    const listed = await p.api<{ items: { id: string; environment_id: string; expires_at: string }[] }>(
      '/api/v1/data-volumes',
      { token: renter },
    );
    expect(listed.body.items).toEqual([expect.objectContaining({ environment_id: env.id })]);
    const retained = listed.body.items[0]!;
    const other = await p.renter();
    expect((await p.api<{ items: unknown[] }>('/api/v1/data-volumes', { token: other })).body.items).toEqual([]);
    const stolen = await p.api(`/api/v1/data-volumes/${retained.id}/restore`, {
      token: other,
      body: { name: 'x', cpu_cores: 1, memory_gb: 1, image_id: busybox },
    });
    expect(stolen.status).toBe(404);

    const restored = await p.api<{ environment: Env }>(`/api/v1/data-volumes/${retained.id}/restore`, {
      token: renter,
      body: { name: 'restored', cpu_cores: 1, memory_gb: 1 },
    });
    expect(restored.status, JSON.stringify(restored.body)).toBe(201);
    const again = restored.body.environment;
    expect(await sh(again.container_id, 'cat /root/data/p')).toBe('precious\n');
    expect((await p.api<{ items: unknown[] }>('/api/v1/data-volumes', { token: renter })).body.items).toEqual([]);

    // Deleted again: retained again, then removed by the sweep once expired.
    expect((await p.api(`/api/v1/environments/${again.id}`, { method: 'DELETE', token: renter })).status).toBe(204);
    const second = await p.api<{ items: { id: string; expires_at: string }[] }>('/api/v1/data-volumes', {
      token: renter,
    });
    expect(second.body.items).toHaveLength(1);
    expect(await volumeExists(volume)).toBe(true);
    await until('the expired volume swept', async () => !(await volumeExists(volume)), {
      timeout: 90_000,
      interval: 1000,
    });
    expect(Date.now()).toBeGreaterThanOrEqual(Date.parse(second.body.items[0]!.expires_at));
    expect((await p.api<{ items: unknown[] }>('/api/v1/data-volumes', { token: renter })).body.items).toEqual([]);
  }, 240_000);
});
