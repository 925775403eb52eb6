/**
 * The lines commands redraw in place on a terminal (output/live.ts): what a terminal shows after each
 * draw, read from a small screen model that obeys the few sequences a live display may write.
 */
import { describe, expect, it } from 'vitest';
import { createLiveLines, createSpinner } from '../src/output/live.js';
import { createStyle } from '../src/output/style.js';

/** A terminal `columns` wide: text, colours, CR, LF, cursor up (CSI n A), erase line (CSI 2K), erase below (CSI J). */
function fakeTerminal(columns: number, isTTY = true) {
  const rows: string[] = [''];
  let row = 0;
  let col = 0;
  let written = '';
  const put = (text: string) => {
    const line = rows[row] ?? '';
    rows[row] = line.slice(0, col).padEnd(col) + text + line.slice(col + text.length);
    col += text.length;
  };
  const stream = {
    isTTY,
    columns,
    write(chunk: string) {
      written += chunk;
      for (const token of chunk.match(/\u001b\[[0-9;]*[A-Za-z]|\r|\n|[^\u001b\r\n]+/g) ?? []) {
        if (token === '\r') col = 0;
        else if (token === '\n') {
          row += 1;
          col = 0;
          rows[row] ??= '';
        } else if (token === '\u001b[2K') rows[row] = '';
        else if (token === '\u001b[J') {
          rows[row] = (rows[row] ?? '').slice(0, col);
          rows.length = row + 1;
        } else if (/^\u001b\[\d*A$/.test(token)) row = Math.max(0, row - Number(token.slice(2, -1) || 1));
        else if (/^\u001b\[[0-9;]*m$/.test(token)) continue; // colours take no room
        else if (token.startsWith('\u001b[')) throw new Error(`unexpected sequence ${JSON.stringify(token)}`);
        else put(token);
      }
      return true;
    },
  };
  return {
    stream: stream as unknown as NodeJS.WriteStream,
    /** The screen's lines, trailing spaces and empty last rows removed. */
    screen: () => rows.map((r) => r.trimEnd()).join('\n').replace(/\n+$/, ''),
    cursor: () => ({ row, col }),
    written: () => written,
  };
}

describe('live lines', () => {
  it('redraw in place, fewer lines erase the rest, stop erases them all', () => {
    const term = fakeTerminal(40);
    let lines = ['collector  starting', 'jaeger     starting', 'prometheus starting'];
    const live = createLiveLines(() => lines, { color: false, stream: term.stream });
    expect(term.screen()).toBe('collector  starting\njaeger     starting\nprometheus starting');
    lines = ['collector  healthy', 'jaeger     still starting'];
    live?.redraw();
    expect(term.screen()).toBe('collector  healthy\njaeger     still starting');
    live?.stop();
    expect(term.screen()).toBe('');
    expect(term.cursor()).toEqual({ row: 0, col: 0 });
  });

  it('stop with keep draws the last state once more and leaves it, the cursor on the next line', () => {
    const term = fakeTerminal(40);
    let state = 'starting';
    const live = createLiveLines((frame) => [`${frame} a  ${state}`, `${frame} b  ${state}`], { color: false, stream: term.stream });
    state = 'healthy';
    live?.stop({ keep: true });
    expect(term.screen()).toMatch(/^. a {2}healthy\n. b {2}healthy$/);
    expect(term.cursor()).toEqual({ row: 2, col: 0 });
  });

  it('cuts every line to the width (a wrapped line would break the redraw), plain when it was styled', () => {
    const term = fakeTerminal(20);
    const style = createStyle(true);
    let lines = [style.green('short'), `${style.cyan('x')} ${'y'.repeat(40)}`];
    const live = createLiveLines(() => lines, { color: true, stream: term.stream });
    expect(term.screen()).toBe(`short\nx ${'y'.repeat(16)}…`);
    expect(term.written()).toContain('\u001b[32mshort\u001b[39m');
    lines = ['z'.repeat(19)];
    live?.redraw();
    expect(term.screen()).toBe('z'.repeat(19));
    live?.stop();
  });

  it('masks credentials and shows control characters instead of obeying them', () => {
    const term = fakeTerminal(200);
    const live = createLiveLines(() => ['export to https://user:hunter2@collector.example:4317?api_key=abc123', 'peer says \u001b]52;c;Zm9v\u0007 and \u001b[31mred'], { color: false, stream: term.stream });
    live?.stop({ keep: true });
    expect(term.screen()).toBe('export to https://***@collector.example:4317?api_key=***\npeer says \\x1b]52;c;Zm9v\\x07 and \\x1b[31mred');
    expect(term.written()).not.toContain('hunter2');
  });

  it('with colour off even our own colour codes are shown, not obeyed (NO_COLOR)', () => {
    const term = fakeTerminal(80);
    createLiveLines(() => ['\u001b[32mok\u001b[39m'], { color: false, stream: term.stream })?.stop({ keep: true });
    expect(term.screen()).toBe('\\x1b[32mok\\x1b[39m');
  });

  it('is nothing at all when the stream is not a terminal', () => {
    const term = fakeTerminal(80, false);
    expect(createLiveLines(() => ['x'], { color: false, stream: term.stream })).toBeUndefined();
    expect(createSpinner(term.stream)).toBeUndefined();
    expect(term.written()).toBe('');
  });
});

describe('the spinner', () => {
  it('shows a frame, the text and the seconds waited; an empty text hides it; stop clears it', () => {
    const term = fakeTerminal(80);
    const spinner = createSpinner(term.stream);
    expect(term.written()).toBe('');
    spinner?.update('waiting for the export to http://agent:s3cret@127.0.0.1:4317');
    expect(term.screen()).toMatch(/^[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] waiting for the export to http:\/\/\*\*\*@127\.0\.0\.1:4317 · \d+\.\d s$/);
    spinner?.update('');
    expect(term.screen()).toBe('');
    spinner?.update('waiting for Jaeger');
    expect(term.screen()).toMatch(/^. waiting for Jaeger · \d+\.\d s$/);
    spinner?.stop();
    expect(term.screen()).toBe('');
    expect(term.written()).not.toContain('s3cret');
  });
});
