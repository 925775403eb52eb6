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
