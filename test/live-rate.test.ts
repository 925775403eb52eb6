/** The live view's switch between trees and one summary line per second, driven second by second. */
import { describe, expect, it } from 'vitest';
import { LiveRate, type SecondSummary } from '../src/local/live-rate.js';

describe('LiveRate', () => {
  it('draws up to 3 trees a second, counts the rest into a summary, and goes back to trees after a readable second', () => {
    const summaries: SecondSummary[] = [];
    const rate = new LiveRate((s) => summaries.push({ ...s }), 3);
    const admitted = (n: number, errors = 0) => Array.from({ length: n }, () => rate.admit(15, errors)).filter(Boolean).length;

    expect(admitted(2)).toBe(2); // a calm second: every tree
    rate.tick();
    expect(summaries).toEqual([]);

    expect(admitted(3)).toBe(3);
    expect(admitted(7, 3)).toBe(0); // the fourth and later are counted
    rate.tick();
    expect(summaries).toEqual([{ traces: 7, spans: 105, errors: 21, errorTraces: 7 }]);

    expect(admitted(5)).toBe(0); // still busy: summaries only
    rate.tick();
    expect(summaries.at(-1)).toEqual({ traces: 5, spans: 75, errors: 0, errorTraces: 0 });

    expect(admitted(1)).toBe(0); // one trace in a busy second: counted, then calm again
    rate.tick();
    expect(summaries.at(-1)).toEqual({ traces: 1, spans: 15, errors: 0, errorTraces: 0 });
    expect(admitted(1)).toBe(1);
    rate.tick();
    expect(summaries).toHaveLength(3);
  });

  it('stop reports what was counted since the last second', () => {
    const summaries: SecondSummary[] = [];
    const rate = new LiveRate((s) => summaries.push({ ...s }), 1);
    rate.admit(2, 0);
    rate.admit(4, 1);
    rate.stop();
    expect(summaries).toEqual([{ traces: 1, spans: 4, errors: 1, errorTraces: 1 }]);
  });
});
