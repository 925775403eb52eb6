/**
 * Errors that carry the exit code a user sees. Domain code throws these; only the CLI entry turns them
 * into output and an exit code.
 */
export const ExitCode = {
  Ok: 0,
  /** A check or an action failed. */
  Failed: 1,
  /** Bad usage: an unknown flag or an invalid value. Nothing was written. */
  Usage: 2,
  /** Exported, but not seen in the backends in time (send-test-trace). */
  NotVerified: 3,
  /** Ctrl-C. */
  Interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * dist/ builds init into a bundle of its own (scripts/build.js), with its own copy of this module, so an
 * error init throws is not an instance of the CLI entry's CliError: the entry recognises it by this brand.
 */
const CLI_ERROR = Symbol.for('loom-otel.CliError');

export class CliError extends Error {
  readonly [CLI_ERROR] = true;

  constructor(
    message: string,
    readonly exitCode: ExitCode,
    /** One line telling the user what to do about it. */
    readonly fix?: string,
  ) {
    super(message);
    this.name = new.target.name;
  }
}

/** Any CliError, from whichever copy of this module threw it. */
export function isCliError(error: unknown): error is CliError {
  return typeof error === 'object' && error !== null && (error as Partial<Record<typeof CLI_ERROR, boolean>>)[CLI_ERROR] === true;
}

/** A flag or a value the user gave is wrong; `flag` names it. */
export class UsageError extends CliError {
  constructor(message: string, fix?: string) {
    super(message, ExitCode.Usage, fix);
  }
}

/** An action failed for a reason outside the user's command line (a port taken, no engine, ...). */
export class ActionError extends CliError {
  constructor(message: string, fix?: string) {
    super(message, ExitCode.Failed, fix);
  }
}

/** The user interrupted (Ctrl-C at a prompt or while waiting). */
export class InterruptedError extends CliError {
  constructor(message = 'Interrupted; nothing was written.') {
    super(message, ExitCode.Interrupted);
  }
}
