// The close codes of the tunnel's own WebSockets (control and data connections), shared by the edge and the agent.

/** Close codes on the agent's sockets; bridged app WebSockets carry the app's or the browser's own codes instead. */
export const CLOSE_CODE = {
  /** agent → edge: the agent is stopping (Ctrl-C, SIGTERM); it will not reconnect. */
  agentStopping: 1000,
  /** edge → agent: the edge dropped this connection (closed, errored or missed heartbeats); the agent reconnects. */
  closing: 1011,
  /** edge → agent: a newer connection of the same host (and, for data, the same shard) replaced this one. */
  replaced: 4000,
  /** edge → agent: the host was kicked (token rotated, host deleted): reconnect, the upgrade then says whether the token still holds. */
  kicked: 4001,
  /** either way: the peer does not speak this side's protocol version (edge at hello, agent at welcome). */
  protocolMismatch: 4002,
  /** edge → agent: the connection's first frame was not a valid hello; the reason says what was wrong. */
  badHello: 4003,
  /** edge → agent: the agent sent more than the edge's frame budget (a flood); it may reconnect after a backoff. */
  flooding: 4004,
} as const;
