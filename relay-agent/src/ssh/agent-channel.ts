// Opens auth-agent@openssh.com channels from the server side: ssh2 1.17's Server has no public call for it (its Protocol layer has one).
import type { Duplex } from 'node:stream';
import type { Connection } from 'ssh2';
import type { AgentSource } from './target.ts';

// ssh2's server-side window and packet size for the channels it opens (lib/Channel.js).
const MAX_WINDOW = 2 * 1024 * 1024;
const PACKET_SIZE = 32 * 1024;

type OpenCallback = ((err: Error | undefined, channel: Duplex) => void) & { type?: string };

/** The private parts of ssh2's server-side Connection this relies on, as server.js's own openChannel() uses them. */
interface Internals {
  _chanMgr: { add(cb: OpenCallback): number };
  _protocol: { openssh_authAgent(chan: number, initWindow: number, maxPacket: number): void };
}

function internals(client: Connection): Internals {
  const c = client as unknown as Partial<Internals>;
  if (typeof c._chanMgr?.add !== 'function' || typeof c._protocol?.openssh_authAgent !== 'function') {
    throw new Error('this ssh2 version cannot open agent channels (expected ssh2 1.17 internals)');
  }
  return c as Internals;
}

/**
 * Asks the renter's client to open a channel to its agent. ssh2 answers CHANNEL_OPEN_CONFIRMATION/FAILURE for any
 * callback registered in its channel manager (confirmation makes a server-side Channel of it), so this mirrors
 * `Connection.forwardOut()` with the agent channel type.
 */
function openAgentChannel(client: Connection): Promise<Duplex> {
  const c = internals(client);
  return new Promise((resolve, reject) => {
    const cb: OpenCallback = (err, channel) => (err ? reject(err) : resolve(channel));
    cb.type = 'auth-agent@openssh.com';
    const id = c._chanMgr.add(cb);
    if (id === -1) return reject(new Error('no free channels'));
    c._protocol.openssh_authAgent(id, MAX_WINDOW, PACKET_SIZE);
  });
}

/** The agent of one renter connection; channels open only after the renter asked for forwarding. */
export function renterAgent(client: Connection): AgentSource {
  return { open: () => openAgentChannel(client) };
}
