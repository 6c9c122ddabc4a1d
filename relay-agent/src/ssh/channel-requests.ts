// Answers the channel requests ssh2's server leaves unanswered: an unknown type with want-reply gets CHANNEL_FAILURE.
//
// ssh2 1.17 (lib/server.js, CHANNEL_REQUEST handler) builds reject() so that it does nothing once a session channel
// has started (`session._channel` is set), and it has no hook for request types it does not know. So after `exec` or
// `shell`, a want-reply request such as PuTTY's `winadj@putty.projects.tartarus.org` is never answered, though
// RFC 4254 §5.4 requires a reply and PuTTY matches replies to its queue of requests in order. OpenSSH's sshd
// answers unknown ones with CHANNEL_FAILURE; so do we. Upstream would need either a 'request' event for unknown
// channel requests or a reject() that still replies after the session started.
// This wraps ssh2's protocol handler (internal API, pinned by the exact ssh2 version in package.json).
import type { Connection } from 'ssh2';

/** The channel request types ssh2's server handles itself (everything else is unknown to it). */
const SSH2_HANDLED = new Set([
  'env',
  'pty-req',
  'window-change',
  'x11-req',
  'signal',
  'auth-agent-req@openssh.com',
  'shell',
  'exec',
  'subsystem',
]);

type ChannelRequestHandler = (p: unknown, recipient: number, type: string, wantReply: boolean, data: unknown) => void;

interface Ssh2Internals {
  _protocol?: { _handlers?: { CHANNEL_REQUEST?: ChannelRequestHandler }; channelFailure?: (id: number) => void };
  _chanMgr?: { get(id: number): unknown };
}

interface ChannelLike {
  _chanInfo?: { outgoing?: { id?: number } };
  outgoing?: { id?: number };
}

/** Installs the answer on one server-side connection; false if ssh2's internals are not what this was written for. */
export function answerUnknownChannelRequests(conn: Connection): boolean {
  const c = conn as unknown as Ssh2Internals;
  const proto = c._protocol;
  const handlers = proto?._handlers;
  const original = handlers?.CHANNEL_REQUEST;
  const chanMgr = c._chanMgr;
  if (!proto || !handlers || typeof original !== 'function' || typeof proto.channelFailure !== 'function' || !chanMgr)
    return false;
  const fail = proto.channelFailure.bind(proto);
  handlers.CHANNEL_REQUEST = (p, recipient, type, wantReply, data) => {
    if (wantReply && !SSH2_HANDLED.has(type)) {
      const ch = chanMgr.get(recipient) as ChannelLike | undefined;
      const id = ch?._chanInfo?.outgoing?.id ?? ch?.outgoing?.id;
      if (typeof id === 'number') return fail(id);
    }
    original(p, recipient, type, wantReply, data);
  };
  return true;
}
