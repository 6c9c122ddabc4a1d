// The header naming the team a request acts for, in a module of its own so that the CLI and the console bundle it
// without zod.

/** `X-RemoteGPU-Team: <team id>`: create, rent, billing, webhooks, audit and usage act for that team. */
export const TEAM_HEADER = 'X-RemoteGPU-Team';
