import { describe, expect, it } from 'vitest';
import { admin, call, json } from './helpers.ts';

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
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining(['/api/v1/environments', '/api/v1/market/machines/{id}/allocate', '/api/v1/admin/hosts']),
    );
    expect(r.body.paths['/api/v1/environments']!.post).toMatchObject({
      requestBody: { content: { 'application/json': { schema: { properties: { gpu_count: { maximum: 8 } } } } } },
    });
    // Path parameters are described by the schemas that parse them.
    const put = r.body.paths['/api/v1/environments/{id}/apps/{port}']!.put as {
      parameters: { name: string; in: string; schema: { pattern?: string; maxLength?: number } }[];
    };
    expect(put.parameters).toEqual(
      expect.arrayContaining([
        expect.objectContaining({ name: 'id', in: 'path', schema: expect.objectContaining({ maxLength: 128 }) }),
        expect.objectContaining({
          name: 'port',
          in: 'path',
          schema: expect.objectContaining({ pattern: '^[1-9][0-9]{0,4}$' }),
        }),
      ]),
    );
  });

  it('answers 422 naming the path parameter that does not parse', async () => {
    const r = await json<{ error: { code: string; message: string } }>(
      '/api/v1/environments/abcdefghij012345/apps/08888',
      { method: 'PUT', token: await admin(), body: { public: true } },
    );
    expect(r.status).toBe(422);
    expect(r.body.error).toMatchObject({
      code: 'validation_failed',
      message: expect.stringContaining('invalid path: port'),
    });
    expect(
      (
        await json('/api/v1/environments/abcdefghij012345/apps/70000', {
          method: 'PUT',
          token: await admin(),
          body: { public: true },
        })
      ).status,
    ).toBe(422);
  });
});
