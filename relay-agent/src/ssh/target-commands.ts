// The target.* command handlers (physical machines behind this relay): read a host key, enrol with one-time credentials.
import { CMD, TargetEnrolArgs, TargetProbeArgs } from '@remotegpu/schema';
import { parse } from '../docker/commands.ts';
import { CommandFailure } from '../tunnel/dispatcher.ts';
import type { CommandDispatcher } from '../tunnel/dispatcher.ts';
import { EnrolError, enrolTarget, type PlatformKey } from './enrol.ts';
import { probeHostKey } from './probe.ts';

export function registerTargetCommands(dispatcher: CommandDispatcher, platform: PlatformKey): void {
  dispatcher.register(CMD.targetProbe, async (args) => {
    const { ip, port } = parse(TargetProbeArgs, args);
    try {
      return { host_key: await probeHostKey(ip, port) };
    } catch (err) {
      throw new CommandFailure(
        'probe_failed',
        `cannot read the SSH host key of ${ip}:${port}: ${(err as Error).message}`,
        true,
      );
    }
  });
  // The arguments carry a password or private key: they are neither logged nor stored (the dispatcher stores results only).
  dispatcher.register(CMD.targetEnrol, async (args, ctx) => {
    const req = parse(TargetEnrolArgs, args);
    try {
      const r = await enrolTarget(req, platform);
      ctx.log.info('target enrolled', {
        target: `${req.ip}:${req.port}`,
        username: req.username,
        installed: r.installed,
      });
      return r;
    } catch (err) {
      if (err instanceof EnrolError) throw new CommandFailure(err.code, err.message, err.retryable);
      throw err;
    }
  });
}
