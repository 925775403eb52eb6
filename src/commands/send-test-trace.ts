import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
export function registerSendTestTrace(program: Command): void {
  program
    .command('send-test-trace')
    .description("Emit a Loom-shaped trace through the OTel SDK and verify it end to end")
    .action(() => {
      throw new ActionError('send-test-trace is not implemented yet.');
    });
}
