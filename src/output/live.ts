/**
 * Lines a command redraws in place on a terminal while it waits: send-test-trace's spinner, the latest
 * line Compose printed and the health of each part during `up`. Only on a terminal: elsewhere there is no
 * live display, and the caller prints plain lines or nothing. The lines pass the same boundary as every
 * other line (output/context.ts: credentials masked, a peer's control characters shown, our colours kept
 * only when colour is on), and each is cut to the terminal's width, since a wrapped line would throw the
 * redraw off by a row.
 */
import { redact } from './redact.js';
import { clip, terminalSafe } from './terminal-safe.js';

const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const STYLE_CODE = /\u001b\[[0-9;]*m/g;

export interface LiveLines {
  /** Draws the lines again, after what `render` reads has changed. */
  redraw(): void;
  /** Stops redrawing and erases the lines, or with `keep` draws them once more and leaves them on screen. */
  stop(options?: { keep?: boolean }): void;
}

export interface LiveOptions {
  /** Colour is on: the Style codes in the lines are kept. */
  color: boolean;
  /** Redraws this often (a turning frame, the seconds waited); without it, only on redraw(). */
  everyMs?: number;
  stream?: NodeJS.WriteStream;
}

/**
 * Shows what `render(frame)` returns (no lines: nothing shown), `frame` being the spinner character of
 * this draw; undefined when the stream is not a terminal (pipes, CI logs).
 */
export function createLiveLines(render: (frame: string) => readonly string[], options: LiveOptions): LiveLines | undefined {
  const stream = options.stream ?? process.stderr;
  if (!stream.isTTY) return undefined;
  let drawn = 0;
  let frame = 0;
  const toStart = () => (drawn > 1 ? `\r\u001b[${drawn - 1}A` : '\r');
  const fit = (line: string, width: number) => {
    const safe = terminalSafe(redact(line), options.color);
    const plain = safe.replace(STYLE_CODE, '');
    // Cutting styled text could break an escape code: a line too long is shown plain, cut to fit.
    return plain.length <= width ? safe : clip(plain, width);
  };
  const draw = () => {
    const lines = render(FRAMES[frame++ % FRAMES.length] as string);
    if (lines.length === 0 && drawn === 0) return;
    const width = (stream.columns || 80) - 1;
    // Each line erased as it is rewritten; whatever an earlier, longer draw left below goes too.
    stream.write(`${drawn > 0 ? toStart() : ''}${lines.map((line) => `\u001b[2K${fit(line, width)}`).join('\n')}\u001b[J`);
    drawn = lines.length;
  };
  const timer = options.everyMs ? setInterval(draw, options.everyMs) : undefined;
  timer?.unref();
  draw();
  return {
    redraw: draw,
    stop({ keep = false } = {}) {
      clearInterval(timer);
      if (keep) {
        draw();
        if (drawn > 0) stream.write('\n');
      } else if (drawn > 0) {
        stream.write(`${toStart()}\u001b[J`);
      }
      drawn = 0;
    },
  };
}

export interface Spinner {
  /** What is waited for now; an empty text hides the line until the next update. */
  update(text: string): void;
  /** Clears the line and stops redrawing. */
  stop(): void;
}

/** One line that says what a command waits for, with a turning frame and the seconds waited. */
export function createSpinner(stream: NodeJS.WriteStream = process.stderr): Spinner | undefined {
  const started = performance.now();
  let text = '';
  const live = createLiveLines((frame) => (text ? [`${frame} ${text} · ${((performance.now() - started) / 1000).toFixed(1)} s`] : []), { color: false, everyMs: 80, stream });
  if (!live) return undefined;
  return {
    update(next) {
      text = next;
      live.redraw();
    },
    stop: () => live.stop(),
  };
}
