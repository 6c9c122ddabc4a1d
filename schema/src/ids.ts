// Identifiers, secrets and host names: generated from the platform's CSPRNG, parsed strictly.
const LOWER_ALNUM = 'abcdefghijklmnopqrstuvwxyz0123456789';
const ALNUM = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789';

export const ENV_ID_LENGTH = 16;
export const PASSWORD_LENGTH = 32;
export const ENV_ID_PATTERN = /^[a-z0-9]{16}$/;

/** Uniform random string over `alphabet` using rejection sampling (no modulo bias). */
export function randomString(length: number, alphabet: string): string {
  if (alphabet.length < 2 || alphabet.length > 256) throw new RangeError('alphabet size must be 2..256');
  const limit = 256 - (256 % alphabet.length);
  let out = '';
  const buf = new Uint8Array(Math.min(65536, Math.max(16, length * 2)));
  while (out.length < length) {
    crypto.getRandomValues(buf);
    for (const b of buf) {
      if (b < limit) out += alphabet[b % alphabet.length];
      if (out.length === length) break;
    }
  }
  return out;
}

export function generateEnvironmentId(): string {
  return randomString(ENV_ID_LENGTH, LOWER_ALNUM);
}

export function generatePassword(): string {
  return randomString(PASSWORD_LENGTH, ALNUM);
}

/** An opaque bearer secret (sessions, API tokens, host tokens): 32 bytes as base64url-ish alnum. */
export function generateToken(prefix: string): string {
  return `${prefix}_${randomString(43, ALNUM)}`;
}

/** Letters and digits a person reads without confusion (no I, O, 0, 1): the CLI's device-login user codes. */
const USER_CODE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
export const USER_CODE_PATTERN = /^[A-HJ-NP-Z2-9]{4}-[A-HJ-NP-Z2-9]{4}$/;

/** A device-login user code, `XXXX-XXXX` (40 bits): short enough to compare by eye, guarded by the approver's login. */
export function generateUserCode(): string {
  const s = randomString(8, USER_CODE_ALPHABET);
  return `${s.slice(0, 4)}-${s.slice(4)}`;
}

export function isEnvironmentId(value: string): boolean {
  return ENV_ID_PATTERN.test(value);
}

export function sshHostName(envId: string, domain: string): string {
  return `${envId}.ssh.${domain}`;
}

/** `<envid>-<port>.<appsDomain>`; the apps domain is `container.<domain>` unless the operator gave apps one of their own. */
export function appHostName(envId: string, port: number, appsDomain: string): string {
  return `${envId}-${port}.${appsDomain}`;
}

export interface AppHost {
  envId: string;
  port: number;
}

const APP_LABEL = new RegExp(`^(${ENV_ID_PATTERN.source.slice(1, -1)})-([1-9][0-9]{0,4})$`);

/**
 * Parses `<envid>-<port>.<appsDomain>` (an optional `:<port>` suffix of a Host header is
 * allowed). Returns null for anything else: other domains, extra labels, upper case, bad ports.
 */
export function parseAppHost(host: string, appsDomain: string): AppHost | null {
  if (host.length > 300 || appsDomain.length === 0) return null;
  let name = host;
  const colon = name.lastIndexOf(':');
  if (colon !== -1) {
    const listen = name.slice(colon + 1);
    if (!/^[1-9][0-9]{0,4}$/.test(listen) || Number(listen) > 65535) return null;
    name = name.slice(0, colon);
  }
  const suffix = `.${appsDomain}`;
  if (!name.endsWith(suffix)) return null;
  const label = name.slice(0, -suffix.length);
  const m = APP_LABEL.exec(label);
  if (!m) return null;
  const port = Number(m[2]);
  if (port < 1 || port > 65535) return null;
  return { envId: m[1]!, port };
}
