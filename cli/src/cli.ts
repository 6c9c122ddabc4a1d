// remotegpu: the renters' command line. Parses, runs one command, and turns every failure into its exit code.
import { CommanderError } from 'commander';
import { defaultContext } from './context.ts';
import { CliError, EXIT } from './errors.ts';
import { buildProgram } from './program.ts';

async function main(argv: string[]): Promise<void> {
  const program = buildProgram(defaultContext());
  try {
    await program.parseAsync(argv);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Help and --version end with 0; commander has printed its message already.
      process.exitCode = err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    } else if (err instanceof CliError) {
      process.stderr.write(`remotegpu: ${err.message}\n`);
      process.exitCode = err.exitCode;
    } else {
      process.stderr.write(`remotegpu: ${err instanceof Error ? err.message : String(err)}\n`);
      process.exitCode = EXIT.other;
    }
  }
}

await main(process.argv);
