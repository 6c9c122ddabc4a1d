// Whether ssh2's optional native crypto binding loaded: without it the relay is CPU-bound at roughly half the throughput.
import { createRequire } from 'node:module';
import type { Logger } from '../contracts.ts';

export function hasNativeCrypto(): boolean {
  try {
    createRequire(import.meta.url)('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
    return true;
  } catch {
    return false;
  }
}

/**
 * Fails loudly when ssh2's native crypto binding is missing (about half the throughput, CPU-bound) unless `allowJs`
 * (`--ssh-native-crypto prefer`): it builds wherever npm ran ssh2's install script (root package.json `allowScripts`).
 * `present` is for tests. Throws an Error naming the fix.
 */
export function requireNativeCrypto(log: Logger, allowJs: boolean, present = hasNativeCrypto()): void {
  if (present) {
    log.debug('ssh2 native crypto binding present');
    return;
  }
  const why =
    "ssh2's native crypto binding (ssh2/lib/protocol/crypto/build/Release/sshcrypto.node) is missing: SSH would be " +
    'CPU-bound at about half the throughput. Reinstall with install scripts allowed (`npm rebuild ssh2`, needs ' +
    'python3, make and a C++ compiler), or start with --ssh-native-crypto prefer (REMOTEGPU_SSH_NATIVE_CRYPTO=prefer).';
  if (!allowJs) throw new Error(why);
  log.warn('ssh2 native crypto binding missing: running on the slower JavaScript ciphers', { reason: why });
}
