// Request/reply over a forked relay's IPC channel (bench/ssh/relay-child.ts), shared by run.ts and ab.ts.
import type { ChildProcess } from 'node:child_process';

/** Sends `msg` to `child` and resolves with the first message back whose `type` is `type`. */
export type Ask = <T>(msg: object, type: string) => Promise<T>;

export function asker(child: ChildProcess): Ask {
  return <T>(msg: object, type: string) =>
    new Promise<T>((resolve) => {
      const on = (m: { type: string }) => {
        if (m.type !== type) return;
        child.off('message', on);
        resolve(m as T);
      };
      child.on('message', on);
      child.send(msg);
    });
}
