/**
 * Text that came from a peer (span and service names, refusal reasons, response bodies), made safe to
 * write to a terminal: control characters are shown as escapes instead of being obeyed, so a sender
 * cannot retitle the window, clear the screen, move the cursor, write the clipboard (OSC 52), or fake
 * lines of output.
 */

/**
 * C0 controls (newline and tab included: one value stays on one line), DEL, C1 controls, the line and
 * paragraph separators, and the bidirectional overrides and isolates that reorder what is displayed.
 */
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

function escape(char: string): string {
  const code = char.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** `text` with every control character written as a visible escape (`\x1b`, `\x07`, `\u202e`). */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, escape);
}

/** Characters JSON.stringify leaves raw that a terminal may still obey (C1 controls, separators, bidi). */
const RAW_IN_JSON = /[\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

/** JSON.stringify, with every character a terminal could obey written as a \u escape (still the same JSON value). */
export function terminalSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(RAW_IN_JSON, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** At most `width` characters of `text`, the last one an ellipsis when it was cut (for one-line displays). */
export function clip(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}…`;
}
