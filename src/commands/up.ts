import type { Command } from 'commander';
import { ActionError } from '../errors.js';

// Placeholder until the command lands; replaced by its implementation.
// Flags for both modes are declared here; `--local` runs the embedded stack (src/commands/up-local.ts).
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('Start the stack and wait until every part is healthy (--local: no Docker)')
    .option('--dir <path>', 'stack directory (default ./observability)')
    .option('--engine <name>', 'container engine: docker (compose plugin), docker-compose or podman')
    .option('--timeout <seconds>', 'how long to wait for every part to turn healthy', '120')
    .option('-y, --yes', 'never prompt (run init with defaults when there is no stack)')
    .option('--local', 'no Docker: run an OTLP receiver, trace store, Jaeger query API and metrics in this process')
    .option('--expose', 'with --local: listen on all interfaces instead of 127.0.0.1')
    .option('--quiet', 'with --local: do not print each finished trace')
    .option('--max-traces <n>', 'with --local: traces kept in memory, oldest evicted first', '10000')
    .option('--max-request-mib <n>', 'with --local: largest OTLP request accepted, in MiB', '16')
    .option('--otlp-grpc-port <port>', 'with --local: OTLP/gRPC port (0 = any free port; default from the stack manifest, else 4317)')
    .option('--otlp-http-port <port>', 'with --local: OTLP/HTTP port (default 4318)')
    .option('--health-port <port>', 'with --local: health_check port (default 13133)')
    .option('--metrics-port <port>', 'with --local: spanmetrics exposition port (default 8889)')
    .option('--jaeger-port <port>', 'with --local: Jaeger query API and trace viewer port (default 16686)')
    .action(async (options: Record<string, unknown>, command: Command) => {
      if (options.local) {
        const { runUpLocal } = await import('./up-local.js');
        return runUpLocal(options, command);
      }
      throw new ActionError('up is not implemented yet.');
    });
}
