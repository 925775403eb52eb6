import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
export function registerStatus(program: Command): void {
  program
    .command('status')
    .description("Show each part of the stack: running, healthy, URL")
    .action(() => {
      throw new ActionError('status is not implemented yet.');
    });
}
