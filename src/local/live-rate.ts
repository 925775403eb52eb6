/**
 * The live view of `up --local` draws each finished trace as a tree, which a person can follow at a
 * couple of traces a second. Beyond that (a load run, a busy agent) the trees would scroll past unread:
 * it then counts the traces and reports one summary per second instead, and goes back to trees after a
 * second that a person could have read.
 */
export interface SecondSummary {
  traces: number;
  spans: number;
  errors: number;
  /** Traces with at least one error span. */
  errorTraces: number;
}

export class LiveRate {
  private drawnThisSecond = 0;
  private busy = false;
  private counted: SecondSummary = { traces: 0, spans: 0, errors: 0, errorTraces: 0 };
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly onSummary: (summary: SecondSummary) => void,
    /** Trees drawn per second at most before switching to summaries. */
    private readonly maxTreesPerSecond = 3,
  ) {}

  start(): void {
    this.timer = setInterval(() => this.tick(), 1000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    if (this.counted.traces > 0) this.onSummary(this.counted);
    this.counted = { traces: 0, spans: 0, errors: 0, errorTraces: 0 };
  }

  /** True: draw this trace as a tree. False: it was counted into this second's summary. */
  admit(spans: number, errors: number): boolean {
    if (!this.busy && this.drawnThisSecond < this.maxTreesPerSecond) {
      this.drawnThisSecond += 1;
      return true;
    }
    this.busy = true;
    this.counted.traces += 1;
    this.counted.spans += spans;
    this.counted.errors += errors;
    if (errors > 0) this.counted.errorTraces += 1;
    return false;
  }

  /** The end of a second: report what was counted; stay in summaries while more arrive than can be read. */
  tick(): void {
    const { counted } = this;
    if (counted.traces > 0) this.onSummary(counted);
    this.busy = this.drawnThisSecond + counted.traces > this.maxTreesPerSecond;
    this.counted = { traces: 0, spans: 0, errors: 0, errorTraces: 0 };
    this.drawnThisSecond = 0;
  }
}
