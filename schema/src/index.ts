// @remotegpu/schema: the shared contracts, runtime-free.
export * from './api.ts';
export * from './billing-api.ts';
export * from './teams-api.ts';
export * from './ids.ts';
export * from './redis-keys.ts';
export * from './migrate.ts';
export * from './password-hash.ts';
export * from './tunnel/index.ts';
export * as tables from './tables.ts';
export { MIGRATIONS } from './migrations.gen.ts';
export * from './address-bucket.ts';
export * from './http/hop-by-hop.ts';
export * from './ssh-alias.ts';
