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
 * Memory for what up --local keeps (--max-memory-mib): traces, span-metric series and token sums
 * together, as estimated bytes, oldest evicted first. The process's resident set adds a fixed overhead:
 * Node itself (~60 MiB) and the garbage of decoded requests V8 has not collected yet (bench/local.bench.js
 * measured ~160-220 MiB more under full load, whatever the budget).
 */
export const DEFAULT_MAX_MEMORY_MIB = 256;
/** Longest name or label value kept, in characters (--max-name-length); longer ones are truncated with a marker. */
export const DEFAULT_MAX_NAME_LENGTH = 1024;
/** Longest string attribute value kept, in characters (--max-attribute-length): a long LLM prompt fits. */
export const DEFAULT_MAX_ATTRIBUTE_LENGTH = 65_536;
/** Open connections per listening port (--max-connections); past it the idlest one is closed. */
export const DEFAULT_MAX_CONNECTIONS = 256;
