/**
 * The output boundary's two filters on their own, with the inputs that are awkward to stage end to end:
 * several URLs in one line, IPv6 hosts, bare tokens as userinfo, echoed header values in any case.
 */
import { describe, expect, it } from 'vitest';
import { redact, redactUrls, rememberSecrets, secretsOfHeaders } from '../src/output/redact.js';
import { escapeControl, jsonSafe, terminalSafe } from '../src/output/terminal-safe.js';

describe('redact', () => {
  it('masks userinfo and secret-looking query values of every URL in a line, and nothing else', () => {
    expect(redactUrls('from http://u:p4ss@[::1]:4317 and https://TOKEN123@otlp.example.com/v1/traces?api_key=k&region=eu#sig=s to http://localhost:4318/v1/traces')).toBe(
      'from http://***@[::1]:4317 and https://***@otlp.example.com/v1/traces?api_key=***&region=eu#sig=*** to http://localhost:4318/v1/traces',
    );
    expect(redactUrls('grpc://h:4317/?access_token=abc&Password=x&page=2')).toBe('grpc://h:4317/?access_token=***&Password=***&page=2');
  });

  it("removes the header values sent, whole and the credential word alone, whatever the peer's case", () => {
    const secrets = secretsOfHeaders(['Bearer s3cr3t-t0ken', 'abc']);
    expect(secrets).toEqual(['Bearer s3cr3t-t0ken', 's3cr3t-t0ken']);
    rememberSecrets(['Bearer s3cr3t-t0ken', 'abc']);
    expect(redact('authorization: bearer S3CR3T-T0KEN; token s3cr3t-t0ken (abc)')).toBe('authorization: ***; token *** (abc)');
  });
});

describe('terminal safety', () => {
  it('shows every control character of a field, newlines included', () => {
    expect(escapeControl('a\u001b]0;t\u0007b\nc\u009b2J\u202e')).toBe('a\\x1b]0;t\\x07b\\x0ac\\u009b2J\\u202e');
  });

  it('keeps layout and, with colour on, only our own colour codes', () => {
    expect(terminalSafe('\u001b[31mred\u001b[39m\tx\n\u001b[2J\u001b]52;c;eA==\u0007', true)).toBe('\u001b[31mred\u001b[39m\tx\n\\x1b[2J\\x1b]52;c;eA==\\x07');
    expect(terminalSafe('\u001b[31mred\u001b[39m', false)).toBe('\\x1b[31mred\\x1b[39m');
  });

  it('keeps JSON valid and equal to what was meant', () => {
    const value = { name: 'a\u009bb\u007fc\u202e' };
    const json = jsonSafe(JSON.stringify(value));
    expect(json).toBe('{"name":"a\\u009bb\\u007fc\\u202e"}');
    expect(JSON.parse(json)).toEqual(value);
  });
});
