// Admin: run the SSH names' DNS reconcile now (the cron runs it every few minutes).
import { DnsReconcileResult } from '@remotegpu/schema';
import type { Hono } from 'hono';
import { endpoint, type AppEnv } from '../lib/api.ts';
import { reconcileDns } from './sync.ts';

export function registerDnsEndpoints(app: Hono<AppEnv>): void {
  endpoint(
    app,
    {
      method: 'post',
      path: '/api/v1/admin/dns/reconcile',
      summary: "Make the SSH names' DNS records match the environments now (missing, wrong and orphaned records)",
      tag: 'admin',
      auth: 'admin',
      response: DnsReconcileResult,
    },
    async (c) => c.json(await reconcileDns(c.get('deps'))),
  );
}
