// Demo data for `npm start`, made through the public API as an operator would: a relay, images, machines.
import { jsonApi, ok } from './json-api.ts';
import { authorizeOnPhysical, type PhysicalSshd } from './physical-keys.ts';
import { until } from './until.ts';

interface Json {
  [k: string]: unknown;
}

/** A set-up call: the JSON body of a 2xx answer, or an error with the status. */
async function api(base: string, path: string, token: string | null, body?: unknown, method?: string): Promise<Json> {
  const r = await jsonApi(base)<Json>(path, { token, body, ...(method ? { method } : {}) });
  return ok(`${method ?? (body === undefined ? 'GET' : 'POST')} ${path}`, r);
}

const MACHINES = [
  {
    name: '北京B区-598机',
    region: '北京B区',
    gpu_model: 'RTX 5090',
    gpu_count: 2,
    gpu_memory: 32,
    cpu_cores: 16,
    memory_gb: 90,
    disk_gb: 5881,
    monthly_price: 6999,
  },
  {
    name: '北京B区-602机',
    region: '北京B区',
    gpu_model: 'RTX 4090',
    gpu_count: 2,
    gpu_memory: 24,
    cpu_cores: 32,
    memory_gb: 128,
    disk_gb: 4096,
    monthly_price: 4599,
  },
  {
    name: '上海A区-017机',
    region: '上海A区',
    gpu_model: 'vGPU-48GB',
    gpu_count: 1,
    gpu_memory: 48,
    cpu_cores: 16,
    memory_gb: 64,
    disk_gb: 7168,
    monthly_price: 3899,
  },
];

const IMAGES = [
  {
    name: 'ubuntu-sshd:demo',
    docker_ref: 'remotegpu/sshd:latest',
    has_sshd: true,
    hourly_price: 1.2,
    description: 'OpenSSH server image (demo stand-in for pytorch:2.0-cuda11.8)',
  },
  {
    name: 'busybox:demo',
    docker_ref: 'remotegpu/busybox:latest',
    has_sshd: false,
    hourly_price: 0.5,
    description: 'A minimal image without sshd: SSH goes through docker exec',
  },
  {
    name: 'stock-ml:demo',
    docker_ref: 'remotegpu/stock:latest',
    has_sshd: false,
    hourly_price: 0.8,
    description: 'Like a stock ML image (bash, python3, git, no OpenSSH): SSH, scp and rsync go through docker exec',
  },
];

/** Seeds once (idempotent) and returns a fresh token for the local relay. */
export async function seedDemo(
  base: string,
  email: string,
  password: string,
  target: { host: string; port: number } = { host: '127.0.0.2', port: 2222 },
): Promise<{ hostToken: string; hostId: string }> {
  const login = await api(base, '/api/v1/auth/login', null, { email, password });
  const admin = login.token as string;
  const hosts = (await api(base, '/api/v1/admin/hosts', admin)).items as { id: string; name: string }[];
  let host = hosts.find((h) => h.name === 'local');
  let hostToken: string;
  if (!host) {
    const created = await api(base, '/api/v1/admin/hosts', admin, {
      name: 'local',
      public_ssh_host: '127.0.0.1',
      shared_ssh_port: 2222,
    });
    host = created.host as { id: string; name: string };
    hostToken = created.token as string;
  } else {
    // Host tokens are stored hashed: a restart gets a new one for the local agent.
    hostToken = (await api(base, `/api/v1/admin/hosts/${host.id}/rotate-token`, admin, {})).token as string;
  }
  const images = (await api(base, '/api/v1/admin/images', admin)).items as { name: string }[];
  for (const img of IMAGES)
    if (!images.some((i) => i.name === img.name)) await api(base, '/api/v1/admin/images', admin, img);
  const machines = (await api(base, '/api/v1/admin/machines', admin)).items as { name: string }[];
  for (const m of MACHINES) {
    // The loopback "physical machine" of scripts/services.sh stands in for the LAN servers.
    if (!machines.some((x) => x.name === m.name))
      await api(base, '/api/v1/admin/machines', admin, {
        ...m,
        target_ip: target.host,
        ssh_port: target.port,
        host_id: host.id,
      });
  }
  await api(base, '/api/v1/admin/routes/rebuild', admin, {});
  return { hostToken, hostId: host.id };
}

/**
 * Once the local relay is online: authorize its platform key on the physical sshd (as an operator would on a real
 * machine) and pin that sshd's host key on every demo machine behind it, so renting one logs straight in.
 */
export async function readyDemoMachines(
  base: string,
  email: string,
  password: string,
  hostId: string,
  physical: PhysicalSshd,
  timeoutMs = 60_000,
): Promise<{ pinned: number }> {
  const admin = (await api(base, '/api/v1/auth/login', null, { email, password })).token as string;
  const key = await until(
    'the local relay to come online',
    async () => {
      const hosts = (await api(base, '/api/v1/admin/hosts', admin)).items as {
        id: string;
        status: string;
        platform_public_key: string | null;
      }[];
      const h = hosts.find((x) => x.id === hostId);
      return h?.status === 'online' && h.platform_public_key;
    },
    { timeout: timeoutMs, interval: 200 },
  );
  await authorizeOnPhysical(physical, key);
  const machines = (await api(base, '/api/v1/admin/machines', admin)).items as {
    id: number;
    host_id: string;
    target_ip: string;
    ssh_port: number;
  }[];
  let pinned = 0;
  for (const m of machines) {
    if (m.host_id !== hostId || m.target_ip !== physical.host || m.ssh_port !== physical.port) continue;
    await api(base, `/api/v1/admin/machines/${m.id}/probe`, admin, {});
    pinned++;
  }
  return { pinned };
}
