import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
export function registerUp(program: Command): void {
  program
    .command('up')
    .description("Start the stack and wait until every part is healthy (--local: no Docker)")
    .action(() => {
      throw new ActionError('up is not implemented yet.');
    });
}
