// Bundles the agent into dist/cli.js (and its SSH worker into dist/ssh-worker.js): schema and zod inside, native and packaged deps (ssh2, dockerode, libsql, ws) outside.
import { build } from 'esbuild';
import { chmodSync, copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const outfile = join(here, 'dist', 'cli.js');

mkdirSync(join(here, 'dist'), { recursive: true });
copyFileSync(join(here, 'src', 'ssh', 'netns-helper.cjs'), join(here, 'dist', 'netns-helper.cjs')); // run by node inside containers' network namespaces
// The SSH workers' program too: relay-agent/src/ssh/workers.ts forks dist/ssh-worker.js beside cli.js.
for (const [entry, out] of [
  [join(here, 'src', 'cli.ts'), outfile],
  [join(here, 'src', 'ssh', 'worker-main.ts'), join(here, 'dist', 'ssh-worker.js')],
])
  await build({
    entryPoints: [entry],
    outfile: out,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['ssh2', 'dockerode', 'libsql', 'ws'],
    banner: {
      // `#!` first; then a require() for the CommonJS code esbuild inlines into an ES module.
      js: "#!/usr/bin/env node\nimport { createRequire as __agentCreateRequire } from 'node:module';\nconst require = __agentCreateRequire(import.meta.url);",
    },
    legalComments: 'none',
    logLevel: 'warning',
  });
chmodSync(outfile, 0o755);
console.log(`built ${outfile}`);
