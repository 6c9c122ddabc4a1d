// Request facts: the client's IP (as Cloudflare reports it) and whether it came over HTTPS.
import type { Ctx } from './api.ts';

export function clientIp(c: Ctx): string {
  return c.req.header('cf-connecting-ip') ?? '127.0.0.1';
}

export function isHttps(c: Ctx): boolean {
  return new URL(c.req.url).protocol === 'https:';
}
