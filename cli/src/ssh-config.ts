// The managed block of ~/.ssh/config: built with the `ssh-config` writer, put in or taken out by its markers only,
// so every other byte of the file stays as the renter wrote it (and `--remove` restores the file exactly).
import SSHConfig from 'ssh-config';

export const START = '# ------------START-REMOTEGPU------------';
export const END = '# ------------END-REMOTEGPU------------';
const NOTE =
  '# Written by `remotegpu config-ssh`; edits inside are replaced. `remotegpu config-ssh --remove` takes it out.';

export interface HostEntry {
  alias: string;
  hostName: string;
  port: number;
  user: string;
  identityFile: string;
  knownHostsFile: string;
}

/** The block, markers included, ending with a newline. */
export function managedBlock(hosts: HostEntry[]): string {
  const cfg = SSHConfig.parse('');
  for (const h of hosts)
    cfg.append({
      Host: h.alias,
      HostName: h.hostName,
      Port: String(h.port),
      User: h.user,
      IdentityFile: h.identityFile,
      IdentitiesOnly: 'yes',
      // A one-item list: the writer quotes list items with blanks (it quotes only a few directives' plain values).
      UserKnownHostsFile: [h.knownHostsFile],
      HostKeyAlias: h.alias,
    });
  const body = SSHConfig.stringify(cfg).trim();
  return `${[START, NOTE, ...(body ? [body] : []), END].join('\n')}\n`;
}

/** The text before and after the block (the block's own trailing newline removed with it), or null without one. */
function split(text: string): { before: string; after: string } | null {
  const start = text.startsWith(`${START}\n`) ? 0 : text.indexOf(`\n${START}\n`) + 1;
  if (start <= 0 && !text.startsWith(`${START}\n`)) return null;
  const endAt = text.indexOf(`\n${END}`, start);
  if (endAt < 0) throw new Error(`the RemoteGPU block has no end marker (${END}): fix the file by hand`);
  let stop = endAt + 1 + END.length;
  if (text[stop] === '\n') stop++;
  return { before: text.slice(0, start), after: text.slice(stop) };
}

/**
 * The file with `block` in place: where the old block was, or else first (ssh takes the first value it reads, so
 * the environments' settings win over a `Host *` below), separated from the renter's lines by one blank line.
 */
export function withBlock(text: string, block: string): string {
  SSHConfig.parse(text); // refuse to edit what ssh could not read either
  const parts = split(text);
  if (parts) return parts.before + block + parts.after;
  return text === '' ? block : `${block}\n${text}`;
}

/** The file without the block: exactly what it was before `withBlock` put one first. */
export function withoutBlock(text: string): string {
  const parts = split(text);
  if (!parts) return text;
  const after = parts.before === '' && parts.after.startsWith('\n') ? parts.after.slice(1) : parts.after;
  return parts.before + after;
}

/** A line diff (`-` old, `+` new) of two texts, for `--dry-run`; empty when they are equal. */
export function lineDiff(a: string, b: string, file: string): string {
  if (a === b) return '';
  const x = a.split('\n');
  const y = b.split('\n');
  // Longest common subsequence, table from the end; config files are small.
  const lcs: number[][] = Array.from({ length: x.length + 1 }, () => new Array<number>(y.length + 1).fill(0));
  for (let i = x.length - 1; i >= 0; i--)
    for (let j = y.length - 1; j >= 0; j--)
      lcs[i]![j] = x[i] === y[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  const out = [`--- ${file}`, `+++ ${file}`];
  let i = 0;
  let j = 0;
  while (i < x.length || j < y.length) {
    if (i < x.length && j < y.length && x[i] === y[j]) {
      i++;
      j++;
    } else if (j < y.length && (i === x.length || lcs[i]![j + 1]! >= lcs[i + 1]![j]!)) out.push(`+${y[j++]}`);
    else out.push(`-${x[i++]}`);
  }
  return `${out.join('\n')}\n`;
}
