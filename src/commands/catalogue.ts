/**
 * The commands, by name and one-line description. Each command's flags and action live in its own module,
 * which is imported only when that command runs (or its help is asked for), so `loom-otel --help` loads
 * none of them.
 */
import type { Command } from 'commander';

export interface CommandEntry {
  name: string;
  description: string;
  /** Adds the command's flags and action to the command created for it. */
  load: () => Promise<(command: Command) => void>;
}

export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'init',
    description: 'Scaffold the observability stack (docker-compose, collector, Jaeger, Prometheus, Grafana)',
    load: async () => (await import('./init.js')).defineInit,
  },
  {
    name: 'up',
    description: 'Start the stack and wait until every part is healthy (--local: no Docker)',
    load: async () => (await import('./up.js')).defineUp,
  },
  {
    name: 'down',
    description: 'Stop the stack and remove its containers (--volumes: also delete its data)',
    load: async () => (await import('./down.js')).defineDown,
  },
  {
    name: 'status',
    description: 'Show each part of the stack: running, healthy, URL (exit 0 only when all are both, or all that `up --local` serves)',
    load: async () => (await import('./status.js')).defineStatus,
  },
  {
    name: 'doctor',
    description: "Diagnose the OTLP endpoint, the stack and the app's OTEL_* settings",
    load: async () => (await import('./doctor.js')).defineDoctor,
  },
  {
    name: 'send-test-trace',
    description: 'Emit a Loom-shaped trace through the OTel SDK and verify it end to end',
    load: async () => (await import('./send-test-trace.js')).defineSendTestTrace,
  },
  {
    name: 'completion',
    description: 'Print a shell completion script: loom-otel completion bash|zsh|fish',
    load: async () => (await import('./completion.js')).defineCompletion,
  },
];
