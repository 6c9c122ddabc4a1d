// The Worker's handle on a relay's HostTunnel Durable Object (one per host, addressed by host id).
import type { Deps } from '../deps.ts';
import type { CommandOutcome } from './host-tunnel.ts';

export function tunnelStub(deps: Deps, hostId: string) {
  const ns = deps.env.HOST_TUNNEL;
  return ns.get(ns.idFromName(hostId));
}

/** Sends a command through the relay's tunnel and waits for its outcome (never throws for relay errors). */
export async function sendCommand(
  deps: Deps,
  hostId: string,
  name: string,
  args: unknown,
  timeoutMs = deps.config.commandTimeoutMs,
): Promise<CommandOutcome> {
  return (await tunnelStub(deps, hostId).command(name, args, timeoutMs)) as unknown as CommandOutcome;
}
