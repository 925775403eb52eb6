/**
 * Text that came from a peer (span and service names, gRPC messages, HTTP bodies, Jaeger operation names)
 * must never drive the terminal: an ESC or C1 byte could retitle the window, clear the screen, move the
 * cursor to fake output, or write the clipboard (OSC 52). Control characters are shown as visible escapes.
 */

/** C0 controls, DEL, C1 controls, the line and paragraph separators, and the bidi overrides and isolates. */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;
/** The same, except newline and tab: for whole lines of our own output that may span several lines. */
const CONTROL_BUT_LAYOUT = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** `\x1b` for C0 controls; `\u009b` from DEL up, which is also a valid escape inside a JSON string. */
function visible(char: string): string {
  const code = char.charCodeAt(0);
  return code < 0x20 ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One field from a peer, every control character (newlines too) shown as `\xNN` / `\uNNNN`. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, visible);
}

/**
 * The SGR sequences our own Style writes (bold, dim, colours and their resets). Only these survive the
 * output boundary, and only when colour is on; every other escape sequence is shown, not obeyed.
 */
const OWN_STYLE = /\u001b\[(?:1|2|22|31|32|33|36|39)m/g;

/** A line of output as it reaches the terminal: newlines and tabs kept, our colours kept when `color`. */
export function terminalSafe(text: string, color: boolean): string {
  if (!color) return text.replace(CONTROL_BUT_LAYOUT, visible);
  let safe = '';
  let last = 0;
  for (const match of text.matchAll(OWN_STYLE)) {
    safe += text.slice(last, match.index).replace(CONTROL_BUT_LAYOUT, visible) + match[0];
    last = match.index + match[0].length;
  }
  return safe + text.slice(last).replace(CONTROL_BUT_LAYOUT, visible);
}

/**
 * JSON text as written to stdout: JSON.stringify already escapes C0 controls; escape C1 controls, DEL
 * and the bidi overrides too (as \uNNNN, so a JSON reader gets the same string back).
 */
export function jsonSafe(json: string): string {
  return json.replace(/[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g, visible);
}
