import { describe, expect, it } from 'vitest';
import { call, json } from './helpers.ts';

describe('GET /healthz', () => {
  it('reports Redis and the database as ok', async () => {
    const r = await json<{ status: string; redis: string; database: string }>('/healthz');
    expect(r.body).toEqual({ status: 'ok', redis: 'ok', database: 'ok' });
    expect(r.status).toBe(200);
  });

  it('serves the console for other paths (SPA fallback) and JSON 404s under /api', async () => {
    const page = await call('/environments');
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<');
    const api = await json<{ error: { code: string } }>('/api/v1/nope');
    expect(api.status).toBe(404);
    expect(api.body.error.code).toBe('not_found');
  });

  it('publishes an OpenAPI document describing the routes', async () => {
    const r = await json<{ openapi: string; paths: Record<string, Record<string, unknown>> }>('/api/v1/openapi.json');
    expect(r.body.openapi).toBe('3.1.0');
    expect(Object.keys(r.body.paths)).toEqual(expect.arrayContaining(['/api/v1/environments', '/api/v1/market/machines/{id}/allocate', '/api/v1/admin/hosts']));
    expect(r.body.paths['/api/v1/environments']!.post).toMatchObject({ requestBody: { content: { 'application/json': { schema: { properties: { gpu_count: { maximum: 8 } } } } } } });
  });
});
