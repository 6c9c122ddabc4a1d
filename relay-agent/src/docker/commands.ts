// The container.* command handlers: validate the arguments from the schema, then call the driver.
import {
  CMD,
  COMMAND_ERROR,
  ContainerActionArgs,
  ContainerCloneArgs,
  ContainerCreateArgs,
  ContainerRecreateArgs,
  VolumeRemoveArgs,
  VolumeUsageArgs,
} from '@remotegpu/schema';
import { CommandFailure } from '../tunnel/dispatcher.ts';
import type { CommandDispatcher } from '../tunnel/dispatcher.ts';
import type { DockerDriver } from './driver.ts';
import { dockerMessage, statusCode } from './errors.ts';

/** The part of a zod schema used here (the agent does not depend on zod itself). */
interface Schema<T> {
  safeParse(
    v: unknown,
  ): { success: true; data: T } | { success: false; error: { issues: { path: PropertyKey[]; message: string }[] } };
}

export function parse<T>(schema: Schema<T>, args: unknown): T {
  const r = schema.safeParse(args);
  if (!r.success) {
    const issue = r.error.issues[0];
    throw new CommandFailure(
      COMMAND_ERROR.invalidArgs,
      `invalid arguments${issue ? `: ${issue.path.map(String).join('.')} ${issue.message}` : ''}`,
    );
  }
  return r.data;
}

/** Engine errors become typed failures: an unreachable engine is worth a retry, a refusal is not. */
async function engine<T>(what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    if (err instanceof CommandFailure) throw err;
    const status = statusCode(err);
    throw new CommandFailure(
      status === undefined ? 'docker_unreachable' : 'docker_error',
      `${what}: ${dockerMessage(err)}`,
      status === undefined || status >= 500,
    );
  }
}

export function registerContainerCommands(dispatcher: CommandDispatcher, driver: DockerDriver): void {
  dispatcher.register(CMD.containerCreate, (args) =>
    engine('create', () => driver.create(parse(ContainerCreateArgs, args))),
  );
  dispatcher.register(CMD.containerStart, (args) =>
    engine('start', () => driver.start(parse(ContainerActionArgs, args))),
  );
  dispatcher.register(CMD.containerStop, (args) => engine('stop', () => driver.stop(parse(ContainerActionArgs, args))));
  dispatcher.register(CMD.containerRestart, (args) =>
    engine('restart', () => driver.restart(parse(ContainerActionArgs, args))),
  );
  dispatcher.register(CMD.containerRemove, (args) =>
    engine('remove', () => driver.remove(parse(ContainerActionArgs, args))),
  );
  dispatcher.register(CMD.containerRecreate, (args) =>
    engine('recreate', () => driver.recreate(parse(ContainerRecreateArgs, args))),
  );
  dispatcher.register(CMD.containerClone, (args) =>
    engine('clone', () => driver.clone(parse(ContainerCloneArgs, args))),
  );
  dispatcher.register(CMD.volumeRemove, (args) =>
    engine('remove volume', async () => {
      await driver.removeVolume(parse(VolumeRemoveArgs, args).volume);
      return { removed: true };
    }),
  );
  dispatcher.register(CMD.volumeUsage, (args) =>
    engine('volume usage', async () => ({ usage: await driver.volumeUsage(parse(VolumeUsageArgs, args).volumes) })),
  );
}
