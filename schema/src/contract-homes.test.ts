// schema/ is the only home of what the edge and the relay must agree on: no Redis key is built from a literal
// outside schema/src/redis-keys.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SCANNED = ['edge/src', 'relay-agent/src', 'dev/src'];

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sources(p));
    else if (name.endsWith('.ts') && !name.endsWith('.test.ts')) out.push(p);
  }
  return out;
}

/** `file:line: text` of every line matching `re`. */
function offenders(re: RegExp): string[] {
  const hits: string[] = [];
  for (const file of SCANNED.flatMap((d) => sources(join(ROOT, d)))) {
    readFileSync(file, 'utf8')
      .split('\n')
      .forEach((line, i) => {
        const code = line.trim();
        if (code.startsWith('//') || code.startsWith('*') || code.startsWith('/*')) return;
        if (re.test(line)) hits.push(`${relative(ROOT, file)}:${i + 1}: ${line.trim()}`);
      });
  }
  return hits;
}

describe('contract homes', () => {
  it('builds Redis keys only through redisKeys (schema/src/redis-keys.ts)', () => {
    // A string or template literal that starts like one of the key families.
    expect(offenders(/[`'"](env:|host:[^/]|applink:|rl:login|routes:built)/)).toEqual([]);
  });
});
