// Cloudflare's official client, tree-shaken to the DNS records resource. cloudflare.ts imports this module on first
// use: the client's module graph is large, and vitest's workerd runner (which loads modules one by one, without tree
// shaking) would otherwise load all of it for every edge test.
import { BaseRecords } from 'cloudflare/resources/dns/records';
import { createClient } from 'cloudflare/tree-shakable';
import type { SshDnsConfig } from '../config.ts';

/** `client.dns.records` for the zone's token; one retry, 10 s per call. */
export function recordsClient(cfg: SshDnsConfig) {
  return createClient({
    apiToken: cfg.apiToken,
    // Never read from process.env (the Worker has none; the token is a binding).
    apiKey: null,
    apiEmail: null,
    userServiceKey: null,
    ...(cfg.apiBase ? { baseURL: cfg.apiBase } : {}),
    maxRetries: 1,
    timeout: 10_000,
    resources: [BaseRecords],
  }).dns.records;
}
