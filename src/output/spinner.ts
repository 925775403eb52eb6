/**
 * One line on a terminal that says what a command waits for, redrawn in place with a turning frame and
 * the seconds waited. Nothing at all when the stream is not a terminal (pipes, CI logs).
 */
const FRAMES = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];
const FRAME_MS = 80;

export interface Spinner {
  /** What is waited for now; an empty text hides the line until the next update. */
  update(text: string): void;
  /** Clears the line and stops redrawing. */
  stop(): void;
}

export function createSpinner(stream: NodeJS.WriteStream = process.stderr): Spinner | undefined {
  if (!stream.isTTY) return undefined;
  const started = performance.now();
  let text = '';
  let frame = 0;
  let shown = false;
  const draw = () => {
    if (!text) return;
    const width = (stream.columns || 80) - 1;
    const line = `${FRAMES[frame++ % FRAMES.length]} ${text} · ${((performance.now() - started) / 1000).toFixed(1)} s`;
    stream.write(`\r\u001b[2K${line.slice(0, width)}`);
    shown = true;
  };
  const clear = () => {
    if (shown) stream.write('\r\u001b[2K');
    shown = false;
  };
  const timer = setInterval(draw, FRAME_MS);
  timer.unref();
  return {
    update(next) {
      text = next;
      if (text) draw();
      else clear();
    },
    stop() {
      clearInterval(timer);
      clear();
    },
  };
}
