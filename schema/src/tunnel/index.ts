// The tunnel protocol between HostTunnel (edge) and the relay agent.
export * from './close-codes.ts';
export * from './control.ts';
export * from './frames.ts';
export * from './data.ts';
export * from './ws-parts.ts';
export * from './file-open.ts';
export * from './terminal.ts';
