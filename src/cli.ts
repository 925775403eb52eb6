/**
 * The CLI entry: builds the command tree, runs one command, turns errors into messages and exit codes.
 * Command modules only declare their flags here; what they do is imported when they run, so `--help`
 * stays fast and never loads the OTel SDK or gRPC.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { ExitCode, isCliError } from './errors.js';
import type { GlobalFlags } from './output/context.js';
import { invokedAs } from './output/invocation.js';
import { COMMANDS } from './commands/catalogue.js';
import { packageFile } from './package-files.js';

const pkg = JSON.parse(readFileSync(packageFile('package.json'), 'utf8')) as { version: string };

/**
 * The command a command line runs: the first word that is not a flag, or the one after `help`.
 * Global flags take no values, so nothing else can stand before it.
 */
function invokedCommand(argv: readonly string[]): string | undefined {
  const words = argv.slice(2).filter((word) => !word.startsWith('-'));
  return words[0] === 'help' ? words[1] : words[0];
}

/** Builds the command tree; only the command `argv` runs gets its flags and action loaded. */
export async function buildProgram(argv: readonly string[]): Promise<Command> {
  const cli = invokedAs();
  const startHere = [
    [`${cli} init && ${cli} up`, 'the stack on Docker'],
    [`${cli} up --local`, 'no Docker: everything in one process'],
    [`${cli} send-test-trace`, 'prove that traces arrive'],
  ];
  const width = Math.max(...startHere.map(([command]) => command!.length));
  const program = new Command('loom-otel')
    .description('A working OpenTelemetry stack for Loom agents, and proof that their traces arrive.')
    .version(pkg.version, '-V, --version', 'print the version')
    .option('--json', 'machine-readable output on stdout')
    .option('--no-color', 'no colours (also when NO_COLOR is set)')
    .showHelpAfterError('(run with --help for usage)')
    // Defaults commander knows read "(default 120)", like those written into option descriptions.
    .configureHelp({
      optionDescription: (option) =>
        option.defaultValue !== undefined && (option.required || option.optional)
          ? `${option.description} (default ${option.defaultValueDescription ?? String(option.defaultValue)})`
          : option.description,
    })
    .addHelpText(
      'after',
      `
Exit codes: 0 ok, 1 a check or action failed, 2 bad usage, 3 exported but not seen in time
(send-test-trace), 130 interrupted.

Start here:
${startHere.map(([command, what]) => `  ${command!.padEnd(width)}   ${what}`).join('\n')}`,
    );
  program.exitOverride();
  const invoked = invokedCommand(argv);
  for (const entry of COMMANDS) {
    const command = program.command(entry.name).description(entry.description).exitOverride();
    if (entry.name === invoked) (await entry.load())(command);
  }
  return program;
}

export async function main(argv: string[]): Promise<number> {
  // `loom-otel ... | head` closes stdout early: stop quietly instead of crashing on EPIPE.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
    throw error;
  });
  const program = await buildProgram(argv);
  try {
    await program.parseAsync(argv);
    return typeof process.exitCode === 'number' ? process.exitCode : ExitCode.Ok;
  } catch (error) {
    if (error instanceof CommanderError) {
      // --help and --version end here with code 0; usage mistakes were already printed by commander.
      return error.exitCode === 0 ? ExitCode.Ok : ExitCode.Usage;
    }
    // Loaded only here: --help and a command that succeeds never need it (each command has its own).
    const { createOutputContext } = await import('./output/context.js');
    const ctx = createOutputContext(program.opts() as GlobalFlags);
    if (isCliError(error)) {
      if (ctx.json) ctx.emitJson({ ok: false, error: { message: error.message, fix: error.fix, exitCode: error.exitCode } });
      ctx.err(`${ctx.style.red('Error:')} ${error.message}`);
      if (error.fix) ctx.err(`${ctx.style.bold('Fix:')} ${error.fix}`);
      return error.exitCode;
    }
    ctx.err(`${ctx.style.red('Unexpected error:')} ${(error as Error)?.stack ?? String(error)}`);
    ctx.err('This is a bug in loom-otel; please report it with the command you ran.');
    return ExitCode.Failed;
  }
}
