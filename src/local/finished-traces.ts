/**
 * Decides when a trace looks finished, for the live terminal view: its root span has arrived and nothing
 * came for a short moment, or nothing came for a longer one (spans of a trace arrive in batches, children
 * usually before their parent). A trace that gets more spans after it was reported is reported again.
 */
import type { StoredSpan } from './model.js';

export interface FinishedTracesOptions {
  /** Quiet time after the root span arrived. */
  afterRootMs: number;
  /** Quiet time when no root span has arrived (yet). */
  quietMs: number;
  /** Traces tracked at most; under a flood the oldest pending ones are dropped from the view. */
  maxPending: number;
}

export const DEFAULT_FINISHED_OPTIONS: FinishedTracesOptions = { afterRootMs: 300, quietMs: 1500, maxPending: 10_000 };

interface Pending {
  lastSpanAt: number;
  rootSeen: boolean;
}

export class FinishedTraces {
  private readonly pending = new Map<string, Pending>();
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onFinished: (traceId: string) => void,
    private readonly options: FinishedTracesOptions = DEFAULT_FINISHED_OPTIONS,
    private readonly now: () => number = Date.now,
  ) {}

  start(sweepMs = 100): void {
    this.timer = setInterval(() => this.sweep(), sweepMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  seen(spans: readonly StoredSpan[]): void {
    const at = this.now();
    for (const span of spans) {
      const entry = this.pending.get(span.traceId);
      const rootSeen = (entry?.rootSeen ?? false) || span.parentSpanId === '';
      // Re-insert so the map stays ordered by last activity (oldest first).
      this.pending.delete(span.traceId);
      this.pending.set(span.traceId, { lastSpanAt: at, rootSeen });
    }
    while (this.pending.size > this.options.maxPending) this.pending.delete(this.pending.keys().next().value as string);
  }

  /** Reports every trace still pending (on shutdown, so nothing received goes unshown). */
  flush(): void {
    const pending = [...this.pending.keys()];
    this.pending.clear();
    for (const traceId of pending) this.onFinished(traceId);
  }

  /** Reports every trace whose quiet time has passed. */
  sweep(): void {
    const at = this.now();
    for (const [traceId, entry] of this.pending) {
      const wait = entry.rootSeen ? this.options.afterRootMs : this.options.quietMs;
      if (at - entry.lastSpanAt < wait) continue;
      this.pending.delete(traceId);
      this.onFinished(traceId);
    }
  }
}
