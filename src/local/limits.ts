/**
 * The limits of `up --local`, in one dependency-free module so `up`'s flag declarations (and --help)
 * can show them without loading the embedded stack.
 */

/** Traces kept in memory (--max-traces); the oldest is evicted first. */
export const DEFAULT_MAX_TRACES = 10_000;
/** Largest OTLP request accepted, in MiB (--max-request-mib), before and after decompression. */
export const DEFAULT_MAX_REQUEST_MIB = 16;
/** One trace of a Loom agent rarely exceeds this; a runaway loop should not fill the store alone. */
export const MAX_SPANS_PER_TRACE = 1000;
/** Average spans per trace the store's span budget allows for (Loom agent runs are typically 5-40 spans). */
export const SPAN_BUDGET_PER_TRACE = 20;
/**
 * Memory for what up --local keeps (--max-memory-mib): traces, span-metric series and token sums together, as
 * estimated bytes, oldest evicted first. The process's resident set adds a fixed overhead:
 * Node itself (~60 MiB) and the garbage of decoded requests V8 has not collected yet, which does not grow with
 * the budget: the README ("Limits" under up --local) gives what bench/local.bench.js measured.
 */
export const DEFAULT_MAX_MEMORY_MIB = 256;
/** Longest name or label value kept, in characters (--max-name-length); longer ones are truncated with a marker. */
export const DEFAULT_MAX_NAME_LENGTH = 1024;
/** Longest string attribute value kept, in characters (--max-attribute-length): a long LLM prompt fits. */
export const DEFAULT_MAX_ATTRIBUTE_LENGTH = 65_536;
/** Open connections per listening port (--max-connections); past it the idlest one is closed. */
export const DEFAULT_MAX_CONNECTIONS = 256;

export interface LocalLimitFlag {
  flag: string;
  /** For --help, after "with --local: ". */
  description: string;
  default: number;
  min: number;
  max: number;
}

/**
 * Every numeric limit flag of `up --local`, keyed by commander's option name: `up` declares them from
 * here and up --local parses them from here, so a flag's name, default and range exist once.
 */
export const LOCAL_LIMIT_FLAGS = {
  maxTraces: { flag: '--max-traces', description: 'traces kept in memory, oldest evicted first', default: DEFAULT_MAX_TRACES, min: 1, max: 10_000_000 },
  maxRequestMib: { flag: '--max-request-mib', description: 'largest OTLP request accepted, in MiB', default: DEFAULT_MAX_REQUEST_MIB, min: 1, max: 2048 },
  maxMemoryMib: {
    flag: '--max-memory-mib',
    description: 'memory for traces, span metrics and token sums together, in MiB; oldest evicted first',
    default: DEFAULT_MAX_MEMORY_MIB,
    min: 16,
    max: 65_536,
  },
  maxNameLength: {
    flag: '--max-name-length',
    description: 'longest span/event/attribute name and metric label kept, in characters (truncated with a marker)',
    default: DEFAULT_MAX_NAME_LENGTH,
    min: 16,
    max: 1_048_576,
  },
  maxAttributeLength: {
    flag: '--max-attribute-length',
    description: 'longest string attribute value kept, in characters (truncated with a marker)',
    default: DEFAULT_MAX_ATTRIBUTE_LENGTH,
    min: 16,
    max: 1_073_741_824,
  },
  maxConnections: {
    flag: '--max-connections',
    description: 'open connections per port; past it the idlest one is closed',
    default: DEFAULT_MAX_CONNECTIONS,
    min: 1,
    max: 1_000_000,
  },
} as const satisfies Record<string, LocalLimitFlag>;

export type LocalLimitKey = keyof typeof LOCAL_LIMIT_FLAGS;
