// Whether ssh2's optional native crypto binding loaded: without it the relay is CPU-bound at roughly half the throughput.
import { createRequire } from 'node:module';

export function hasNativeCrypto(): boolean {
  try {
    createRequire(import.meta.url)('ssh2/lib/protocol/crypto/build/Release/sshcrypto.node');
    return true;
  } catch {
    return false;
  }
}
