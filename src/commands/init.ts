import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
export function registerInit(program: Command): void {
  program
    .command('init')
    .description("Scaffold the observability stack (docker-compose, collector, Jaeger, Prometheus, Grafana)")
    .action(() => {
      throw new ActionError('init is not implemented yet.');
    });
}
