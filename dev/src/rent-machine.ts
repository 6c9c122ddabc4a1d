// Adds a loopback "physical" machine to the pool and rents it: the setup every app-routing test, fault test and
// benchmark repeats (a machine row is the cheapest environment with an app target: any HTTP server on its IP).
import { type Api, ok } from './json-api.ts';

export interface RentMachineOptions {
  /** An admin's bearer token (adds the machine). */
  admin: string;
  /** The renter's bearer token (rents it). */
  renter: string;
  /** The relay host the machine sits behind (`hosts.id`). */
  hostId: string;
  /** The machine's LAN address as the relay reaches it, e.g. a loopback alias `127.0.0.3`. */
  targetIp: string;
  /** Its sshd port; default 22 (nothing needs to listen there for app routing). */
  sshPort?: number;
  /** Unique in the pool. */
  name: string;
}

/**
 * Adds the machine (1 GPU "none", monthly price 1) and allocates it to the renter.
 * Returns `{machineId, envId}` (`machines.id`, `environments.id`); throws an Error naming the step and the answer when
 * the edge refuses either call.
 */
export async function rentMachine(api: Api, o: RentMachineOptions): Promise<{ machineId: number; envId: string }> {
  const m = ok(
    'add machine',
    await api<{ machine: { id: number } }>('/api/v1/admin/machines', {
      token: o.admin,
      body: {
        name: o.name,
        region: 'lo',
        gpu_model: 'none',
        gpu_count: 1,
        gpu_memory: 1,
        cpu_cores: 2,
        memory_gb: 1,
        disk_gb: 1,
        target_ip: o.targetIp,
        ssh_port: o.sshPort ?? 22,
        host_id: o.hostId,
        monthly_price: 1,
      },
    }),
  );
  const e = ok(
    'allocate machine',
    await api<{ environment: { id: string } }>(`/api/v1/market/machines/${m.machine.id}/allocate`, {
      token: o.renter,
      body: {},
    }),
  );
  return { machineId: m.machine.id, envId: e.environment.id };
}
