// Opening a URL on the renter's desktop (xdg-open / open), only where a desktop exists; printing always comes first.
import { spawn } from 'node:child_process';

function hasDesktop(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.REMOTEGPU_NO_BROWSER) return false;
  return process.platform === 'darwin' || Boolean(env.DISPLAY || env.WAYLAND_DISPLAY);
}

/** Best effort: a missing opener leaves the printed URL for the renter to open. */
export function openUrl(url: string): void {
  if (!hasDesktop()) return;
  const opener = process.platform === 'darwin' ? 'open' : 'xdg-open';
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => {});
  child.unref();
}
