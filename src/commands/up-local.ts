import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until `up --local` lands.
export async function runUpLocal(_options: Record<string, unknown>, _command: Command): Promise<void> {
  throw new ActionError('up --local is not implemented yet.');
}
