// SSH ports, unique per relay (50000-59999): random probes first, then the first gap the index finds.
import { tables } from '@remotegpu/schema';
import { eq, sql } from 'drizzle-orm';
import type { Deps } from '../deps.ts';
import { ApiError } from '../errors.ts';

/** The relay's range (its `--ssh-ports`, reported in its hello); 50000-59999 until it has said. */
interface Range {
  min: number;
  max: number;
}

function randomPort(r: Range): number {
  const b = crypto.getRandomValues(new Uint32Array(1))[0]!;
  return r.min + (b % (r.max - r.min + 1));
}

async function firstGap(deps: Deps, hostId: string, r: Range): Promise<number | null> {
  // The lowest free port: either the range start itself or one past an allocated port whose successor is free.
  const res = await deps.database.client.execute({
    sql: `SELECT CASE WHEN NOT EXISTS (SELECT 1 FROM port_allocations WHERE host_id = ?1 AND port = ?2) THEN ?2 ELSE (
            SELECT p.port + 1 FROM port_allocations p WHERE p.host_id = ?1 AND p.port + 1 <= ?3
              AND NOT EXISTS (SELECT 1 FROM port_allocations q WHERE q.host_id = ?1 AND q.port = p.port + 1)
            ORDER BY p.port LIMIT 1) END AS port`,
    args: [hostId, r.min, r.max],
  });
  const v = res.rows[0]?.[0];
  return v == null ? null : Number(v);
}

/** Claims a port for an environment; the primary key (host_id, port) makes two claims of one port impossible. */
export async function allocatePort(deps: Deps, hostId: string, environmentId: string): Promise<number> {
  const [host] = await deps.db
    .select({ min: tables.hosts.ssh_port_min, max: tables.hosts.ssh_port_max })
    .from(tables.hosts)
    .where(eq(tables.hosts.id, hostId));
  const range = host ?? { min: 50000, max: 59999 };
  for (let attempt = 0; attempt < 12; attempt++) {
    const port = attempt < 8 ? randomPort(range) : await firstGap(deps, hostId, range);
    if (port == null) break;
    const res = await deps.db
      .insert(tables.portAllocations)
      .values({ host_id: hostId, port, environment_id: environmentId })
      .onConflictDoNothing()
      .returning({ port: tables.portAllocations.port });
    if (res.length) return port;
  }
  throw new ApiError(409, 'no_ports', 'the relay has no free SSH port');
}

export async function releasePort(deps: Deps, environmentId: string): Promise<void> {
  await deps.db.delete(tables.portAllocations).where(sql`${tables.portAllocations.environment_id} = ${environmentId}`);
}
