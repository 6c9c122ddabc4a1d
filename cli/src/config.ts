// The CLI's settings: defaults, where its files live (XDG config dir), and the stored login (mode 0600).
import { chmodSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { CliError, EXIT } from './errors.ts';

export const DEFAULTS = {
  /** `npm start`'s console; a real deployment is given with `login --url` or REMOTEGPU_URL. */
  url: 'http://127.0.0.1:8787',
  /** The host alias of an environment in ssh_config and known_hosts: `rg-<name>`. */
  aliasPrefix: 'rg-',
  /** The ssh user when the API names none. */
  sshUser: 'root',
} as const;

export interface Paths {
  dir: string;
  credentials: string;
  identity: string;
  knownHosts: string;
  sshConfig: string;
}

/** `$XDG_CONFIG_HOME/remotegpu` (default `~/.config/remotegpu`); REMOTEGPU_CONFIG_DIR overrides it. */
export function paths(env: NodeJS.ProcessEnv = process.env): Paths {
  const home = env.HOME || homedir();
  const dir = env.REMOTEGPU_CONFIG_DIR || join(env.XDG_CONFIG_HOME || join(home, '.config'), 'remotegpu');
  return {
    dir,
    credentials: join(dir, 'credentials.json'),
    identity: join(dir, 'id_ed25519'),
    knownHosts: join(dir, 'known_hosts'),
    sshConfig: join(home, '.ssh', 'config'),
  };
}

export interface Credentials {
  url: string;
  token: string;
  /** The token came from the device-code login (the CLI's own, revoked at logout), not from `--token`. */
  device?: boolean;
}

export function ensureDir(dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
}

export function readCredentials(p: Paths = paths()): Credentials | null {
  if (!existsSync(p.credentials)) return null;
  try {
    const c = JSON.parse(readFileSync(p.credentials, 'utf8')) as Partial<Credentials>;
    if (typeof c.url !== 'string' || typeof c.token !== 'string') return null;
    return { url: c.url, token: c.token, ...(c.device === true ? { device: true } : {}) };
  } catch {
    throw new CliError(`${p.credentials} is not valid JSON: run \`remotegpu login\` again`, EXIT.auth);
  }
}

/** Written 0600 (and re-chmodded: an existing file keeps its mode on overwrite). */
export function writeCredentials(c: Credentials, p: Paths = paths()): void {
  ensureDir(p.dir);
  writeFileSync(p.credentials, `${JSON.stringify(c, null, 2)}\n`, { mode: 0o600 });
  chmodSync(p.credentials, 0o600);
}

export function removeCredentials(p: Paths = paths()): void {
  rmSync(p.credentials, { force: true });
}

/** A console URL as given: http(s), no path; trailing slash dropped. */
export function parseUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    throw new CliError(`not a URL: ${raw}`, EXIT.usage);
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:') throw new CliError(`not an http(s) URL: ${raw}`, EXIT.usage);
  return u.origin;
}
