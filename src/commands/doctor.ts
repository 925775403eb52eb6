import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
export function registerDoctor(program: Command): void {
  program
    .command('doctor')
    .description("Diagnose the OTLP endpoint, the stack and the app's OTEL_* settings")
    .action(() => {
      throw new ActionError('doctor is not implemented yet.');
    });
}
