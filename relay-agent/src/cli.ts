// relay-agent CLI: parse the configuration, run the agent until a signal or a permanent error, one top-level catch.
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { startAgent } from './agent.ts';
import { ConfigError, helpText, parseConfig } from './config.ts';
import { createLogger } from './log.ts';
import { PermanentError } from './tunnel/errors.ts';
import { AGENT_VERSION } from './version.ts';

async function main(): Promise<number> {
  const outcome = parseConfig({
    argv: process.argv.slice(2),
    env: process.env,
    home: homedir(),
    readFile: (path) => readFileSync(path, 'utf8'),
  });
  if (outcome.kind === 'help') {
    process.stdout.write(helpText(AGENT_VERSION));
    return 0;
  }
  if (outcome.kind === 'version') {
    process.stdout.write(`${AGENT_VERSION}\n`);
    return 0;
  }
  const config = outcome.config;
  const log = createLogger({ level: config.logLevel });
  const agent = await startAgent(config, log);
  const onSignal = (signal: string) => {
    log.info('signal received, stopping', { signal });
    void agent.stop();
  };
  process.once('SIGINT', () => onSignal('SIGINT'));
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  try {
    await agent.done;
    return 0;
  } finally {
    await agent.stop();
  }
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    if (err instanceof ConfigError) {
      process.stderr.write(`relay-agent: ${err.message}\n`);
      process.exit(2);
    }
    if (err instanceof PermanentError) {
      process.stderr.write(`relay-agent: ${err.message}\n`);
      process.exit(3);
    }
    process.stderr.write(`relay-agent: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
    process.exit(1);
  },
);
