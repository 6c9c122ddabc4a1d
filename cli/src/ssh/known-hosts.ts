// The known_hosts file the CLI manages: the relay's host keys pinned under each environment's alias (HostKeyAlias).
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { ensureDir } from '../config.ts';
import { dirname } from 'node:path';

/** Replaces the lines of `alias` with one per host key (`type base64`); other aliases' lines stay as they are. */
export function pinnedLines(current: string, alias: string, hostKeys: string[]): string {
  const kept = current.split('\n').filter((l) => l.trim() !== '' && l.split(/\s+/)[0] !== alias);
  const mine = hostKeys.map((k) => `${alias} ${k.split(/\s+/).slice(0, 2).join(' ')}`);
  return `${[...kept, ...mine].join('\n')}\n`;
}

export function pinHostKeys(file: string, alias: string, hostKeys: string[]): void {
  const current = existsSync(file) ? readFileSync(file, 'utf8') : '';
  const next = pinnedLines(current, alias, hostKeys);
  if (next === current) return;
  ensureDir(dirname(file));
  writeFileSync(file, next, { mode: 0o600 });
}
