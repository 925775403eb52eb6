import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
export function registerDown(program: Command): void {
  program
    .command('down')
    .description("Stop the stack")
    .action(() => {
      throw new ActionError('down is not implemented yet.');
    });
}
