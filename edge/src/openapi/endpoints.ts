// GET /api/v1/openapi.json built from the endpoint specs' zod schemas, and a docs page that renders it.
import type { Hono } from 'hono';
import { z } from 'zod';
import { ErrorBody } from '@remotegpu/schema';
import { endpoints, type AppEnv } from '../lib/api.ts';

function schema(s: z.ZodType, io: 'input' | 'output'): unknown {
  try {
    return z.toJSONSchema(s, { io, unrepresentable: 'any' });
  } catch {
    return {};
  }
}

function buildOpenApi(): unknown {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of endpoints) {
    const path = r.path.replace(/:([A-Za-z_]+)/g, '{$1}');
    const pathJs = r.params ? (schema(r.params, 'input') as { properties?: Record<string, unknown> }) : {};
    const params = [...r.path.matchAll(/:([A-Za-z_]+)/g)].map((m) => ({
      name: m[1],
      in: 'path',
      required: true,
      schema: (pathJs.properties?.[m[1]!] ?? { type: 'string' }) as { type: string },
    }));
    if (r.query) {
      const js = schema(r.query, 'input') as { properties?: Record<string, unknown>; required?: string[] };
      for (const [name, s] of Object.entries(js.properties ?? {}))
        params.push({ name, in: 'query', required: (js.required ?? []).includes(name), schema: s as { type: string } });
    }
    const status = String(r.status ?? 200);
    paths[path] ??= {};
    paths[path][r.method] = {
      summary: r.summary,
      tags: [r.tag],
      ...(r.auth !== 'none' ? { security: [{ bearer: [] }, { cookie: [] }] } : {}),
      ...(params.length ? { parameters: params } : {}),
      ...(r.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schema(r.body, 'input') } } } }
        : {}),
      responses: {
        [r.response ? status : r.method === 'delete' ? '204' : status]: r.response
          ? { description: 'OK', content: { 'application/json': { schema: schema(r.response, 'output') } } }
          : { description: 'OK' },
        default: { description: 'Error', content: { 'application/json': { schema: schema(ErrorBody, 'output') } } },
      },
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'RemoteGPU API',
      version: '1',
      description: 'Allocation, environments, access, audit and administration.',
    },
    servers: [{ url: '/' }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'A session token (rgs_…) or an API token (rgt_…)' },
        cookie: { type: 'apiKey', in: 'cookie', name: 'rg_session' },
      },
    },
    paths,
  };
}

const DOCS = `<!doctype html><html><head><meta charset="utf-8"><title>RemoteGPU API</title>
<style>body{font:14px system-ui;margin:2rem;max-width:1100px}code{background:#f3f3f3;padding:1px 4px}
.op{border:1px solid #ddd;border-radius:6px;margin:.5rem 0;padding:.5rem 1rem}.m{font-weight:bold;text-transform:uppercase;width:4.5rem;display:inline-block}
pre{background:#fafafa;padding:.5rem;overflow:auto;max-height:300px}</style></head>
<body><h1>RemoteGPU API</h1><p>Machine-readable: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. Authenticate with <code>Authorization: Bearer &lt;token&gt;</code>.</p><div id="ops"></div>
<script>fetch('/api/v1/openapi.json').then(r=>r.json()).then(d=>{const el=document.getElementById('ops');
for(const [p,ms] of Object.entries(d.paths))for(const [m,op] of Object.entries(ms)){const div=document.createElement('details');div.className='op';
const s=document.createElement('summary');s.innerHTML='<span class="m"></span><code></code> ';s.querySelector('.m').textContent=m;s.querySelector('code').textContent=p;s.append(op.summary||'');div.append(s);
const pre=document.createElement('pre');pre.textContent=JSON.stringify({parameters:op.parameters,requestBody:op.requestBody,responses:op.responses},null,2);div.append(pre);el.append(div);}});</script></body></html>`;

export function registerOpenApiEndpoints(app: Hono<AppEnv>): void {
  let cached: unknown = null;
  app.get('/api/v1/openapi.json', (c) => {
    cached ??= buildOpenApi();
    return c.json(cached);
  });
  app.get('/api/v1/docs', (c) => c.html(DOCS));
}
