// SSH ports, unique per relay (50000-59999): random probes first, then the first gap the index finds.
import { tables } from '@remotegpu/schema';
import { sql } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';

export const PORT_MIN = 50000;
export const PORT_MAX = 59999;

function randomPort(): number {
  const b = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return PORT_MIN + (b % (PORT_MAX - PORT_MIN + 1));
}

async function firstGap(deps: Deps, hostId: string): Promise<number | null> {
  // The lowest free port: either PORT_MIN itself or one past an allocated port whose successor is free.
  const res = await deps.database.client.execute({
    sql: `SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM port_allocations WHERE host_id = ?1 AND port = ?2) THEN ?2 ELSE (
            SELECT p.port + 1 FROM port_allocations p WHERE p.host_id = ?1 AND p.port + 1 <= ?3
              AND NOT EXISTS (SELECT 1 FROM port_allocations q WHERE q.host_id = ?1 AND q.port = p.port + 1)
            ORDER BY p.port LIMIT 1) END AS port`,
    args: [hostId, PORT_MIN, PORT_MAX],
  });
  const v = res.rows[0]?.[0];
  return v == null ? null : Number(v);
}

/** Claims a port for an environment; the primary key (host_id, port) makes two claims of one port impossible. */
export async function allocatePort(deps: Deps, hostId: string, environmentId: string): Promise<number> {
  for (let attempt = 0; attempt < 12; attempt++) {
    const port = attempt < 8 ? randomPort() : await firstGap(deps, hostId);
    if (port == null) break;
    const res = await deps.db.insert(tables.portAllocations).values({ host_id: hostId, port, environment_id: environmentId })
      .onConflictDoNothing().returning({ port: tables.portAllocations.port });
    if (res.length) return port;
  }
  throw new ApiError(409, 'no_ports', 'the relay has no free SSH port');
}

export async function releasePort(deps: Deps, environmentId: string): Promise<void> {
  await deps.db.delete(tables.portAllocations).where(sql`${tables.portAllocations.environment_id} = ${environmentId}`);
}
