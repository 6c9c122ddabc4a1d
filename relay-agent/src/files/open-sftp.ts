// Opens the SFTP subsystem on an environment's target for a file stream, exactly as an `sftp` client gets it through the gateway.
import type { Route } from '@remotegpu/schema';
import type { Target } from '../ssh/target.ts';
import type { SftpPipe } from './file-stream.ts';

/** The target's own sftp-server (upstream sshd, or the image's), or the relay's bundled one for exec targets. */
export async function openSftp(target: (route: Route) => Target, route: Route): Promise<SftpPipe> {
  const t = target(route);
  try {
    const proc = await t.start({ kind: 'subsystem', arg: 'sftp', pty: null, env: {} });
    return {
      stdin: proc.stdin,
      stdout: proc.stdout,
      close: () => {
        proc.close();
        t.close();
      },
    };
  } catch (err) {
    t.close();
    throw err;
  }
}
