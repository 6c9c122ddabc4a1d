// Tunnel close codes have one home: no edge or relay file closes a socket with, or compares against, a literal code of ours.
// (A test reads the sources with node:fs; the schema's runtime code itself stays free of node:*.)
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { CLOSE_CODE } from './close-codes.ts';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true, recursive: true })
    .filter((e) => e.isFile() && e.name.endsWith('.ts') && !e.name.endsWith('.test.ts'))
    .map((e) => join(e.parentPath, e.name));
}

describe('tunnel close codes', () => {
  it('are distinct and in the ranges a WebSocket may send', () => {
    const codes = Object.values(CLOSE_CODE);
    expect(new Set(codes).size).toBe(codes.length);
    for (const c of codes) expect(c === 1000 || c === 1011 || (c >= 4000 && c <= 4999)).toBe(true);
  });

  it('are never written as literals in the edge or the relay (they use CLOSE_CODE from schema)', () => {
    // Our own codes are the application range 4000-4999; standard codes of bridged app sockets (1009...) are not ours.
    const literal = /(?:\.close\(\s*|code\s*[!=]==?\s*)4\d{3}\b/;
    const offenders = ['edge/src', 'relay-agent/src'].flatMap(sources).flatMap((file) =>
      readFileSync(file, 'utf8')
        .split('\n')
        .flatMap((line, i) => (literal.test(line) ? [`${file.slice(ROOT.length)}:${i + 1}: ${line.trim()}`] : [])),
    );
    expect(offenders).toEqual([]);
  });
});
