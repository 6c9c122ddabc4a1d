// Drives an interactive terminal through tmux, so that ssh gets a real PTY with a size that can change.
import { run } from './harness.ts';

export class Tmux {
  private readonly sock = `sshgw-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;

  async start(command: string, cols: number, rows: number): Promise<void> {
    const r = await run('tmux', [
      '-L',
      this.sock,
      '-f',
      '/dev/null',
      'new-session',
      '-d',
      '-x',
      String(cols),
      '-y',
      String(rows),
      command,
      ';',
      'set',
      '-g',
      'status',
      'off',
    ]);
    if (r.code !== 0) throw new Error(`tmux: ${r.stderr}`);
  }

  async send(keys: string): Promise<void> {
    await run('tmux', ['-L', this.sock, 'send-keys', '-l', keys]);
    await run('tmux', ['-L', this.sock, 'send-keys', 'Enter']);
  }

  /** Types keys without Enter (e.g. OpenSSH's `~.` escape after a newline). */
  async type(keys: string): Promise<void> {
    await run('tmux', ['-L', this.sock, 'send-keys', '-l', keys]);
  }

  async resize(cols: number, rows: number): Promise<void> {
    await run('tmux', ['-L', this.sock, 'resize-window', '-x', String(cols), '-y', String(rows)]);
  }

  async screen(): Promise<string> {
    return (await run('tmux', ['-L', this.sock, 'capture-pane', '-p'])).stdout;
  }

  /** Waits until the screen matches `re` and returns the screen. */
  async waitFor(re: RegExp, ms = 10_000): Promise<string> {
    const end = Date.now() + ms;
    for (;;) {
      const s = await this.screen();
      if (re.test(s)) return s;
      if (Date.now() > end) throw new Error(`screen never matched ${re}:\n${s}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /** True while the session's command (ssh) still runs. */
  async alive(): Promise<boolean> {
    return (await run('tmux', ['-L', this.sock, 'has-session'])).code === 0;
  }

  async kill(): Promise<void> {
    await run('tmux', ['-L', this.sock, 'kill-server']);
  }
}
