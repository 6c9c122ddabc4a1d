// Runs edge commands by name: at most once per command id (stored results answer retries), typed errors with `retryable`.
import type { Command, Result } from '@remotegpu/schema';
import { COMMAND_ERROR, MSG } from '@remotegpu/schema';
import type { Logger } from '../contracts.ts';

/** A failure the edge should see as is: its code, and whether the same command may succeed later. */
export class CommandFailure extends Error {
  override name = 'CommandFailure';
  constructor(
    readonly code: string,
    message: string,
    readonly retryable = false,
  ) {
    super(message);
  }
}

interface CommandContext {
  id: string;
  deadline: number;
  log: Logger;
}
export type CommandHandler = (args: unknown, ctx: CommandContext) => Promise<unknown>;

export interface ResultStore {
  getResult(id: string): { name: string; result: unknown } | null;
  putResult(id: string, name: string, result: unknown): void;
}

export class CommandDispatcher {
  private readonly handlers = new Map<string, CommandHandler>();
  private readonly inflight = new Map<string, Promise<Result>>();

  constructor(
    private readonly store: ResultStore,
    private readonly log: Logger,
    private readonly now: () => number = Date.now,
  ) {}

  register(name: string, handler: CommandHandler): void {
    this.handlers.set(name, handler);
  }

  handle(cmd: Command): Promise<Result> {
    const running = this.inflight.get(cmd.id);
    if (running) return running;
    const p = this.execute(cmd).finally(() => this.inflight.delete(cmd.id));
    this.inflight.set(cmd.id, p);
    return p;
  }

  private async execute(cmd: Command): Promise<Result> {
    const stored = this.store.getResult(cmd.id);
    if (stored) return { ...(stored.result as Result), id: cmd.id };
    const handler = this.handlers.get(cmd.name);
    if (!handler)
      return fail(cmd.id, COMMAND_ERROR.unknownCommand, `this agent does not know the command "${cmd.name}"`, false);
    if (cmd.deadline < this.now())
      return fail(cmd.id, COMMAND_ERROR.deadlineExceeded, 'the command arrived after its deadline', true);
    const log = this.log.child({ cmd_id: cmd.id, cmd: cmd.name });
    const started = this.now();
    let result: Result;
    try {
      const data = await handler(cmd.args, { id: cmd.id, deadline: cmd.deadline, log });
      result =
        data === undefined
          ? { type: MSG.result, id: cmd.id, ok: true }
          : { type: MSG.result, id: cmd.id, ok: true, data };
    } catch (err) {
      if (err instanceof CommandFailure) result = fail(cmd.id, err.code, err.message, err.retryable);
      else
        result = fail(
          cmd.id,
          COMMAND_ERROR.internal,
          `${cmd.name} failed: ${err instanceof Error ? err.message : String(err)}`,
          true,
        );
    }
    log.info('command done', {
      ok: result.ok,
      ms: this.now() - started,
      ...(result.ok ? {} : { error: result.error }),
    });
    // A retryable failure is not final: the same id may be tried again.
    if (result.ok || !result.error.retryable) {
      try {
        this.store.putResult(cmd.id, cmd.name, result);
      } catch (err) {
        log.error('could not store a command result', { err });
      }
    }
    return result;
  }
}

function fail(id: string, code: string, message: string, retryable: boolean): Result {
  return { type: MSG.result, id, ok: false, error: { code, message: message.slice(0, 8000), retryable } };
}
