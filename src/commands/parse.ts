/**
 * Parsers for flag values. Each throws a UsageError that names the flag and the fix, so a bad value ends
 * with exit 2 before anything happens.
 */
import { UsageError } from '../errors.js';

export function parseInteger(flag: string, value: string, min: number, max: number): number {
  if (!/^-?\d+$/.test(value.trim()) || Number(value) < min || Number(value) > max) {
    throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, not "${value}".`, `Give ${flag} a value between ${min} and ${max}.`);
  }
  return Number(value);
}

export function parsePort(flag: string, value: string): number {
  return parseInteger(flag, value, 1, 65535);
}

export function parseNumber(flag: string, value: string, min: number, max: number): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`${flag} must be a number from ${min} to ${max}, not "${value}".`, `Give ${flag} a value between ${min} and ${max}.`);
  }
  return n;
}

/** Seconds (fractions allowed) to milliseconds. */
export function parseSeconds(flag: string, value: string, maxSeconds = 86_400): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n <= 0 || n > maxSeconds) {
    throw new UsageError(`${flag} takes a number of seconds greater than 0, not "${value}".`, `For example ${flag} 5.`);
  }
  return Math.round(n * 1000);
}

/** Collects a repeatable `key=value` flag. A `secret` flag's text is never quoted back (`--header "Authorization: Bearer ..."`). */
export function collectKeyValue(flag: string, options: { secret?: boolean } = {}) {
  return (value: string, previous: string[] = []): string[] => {
    const eq = value.indexOf('=');
    if (eq <= 0) {
      if (options.secret) throw new UsageError(`${flag} takes key=value, and one has no "=" (its text is not shown: it may hold a secret).`, `For example ${flag} authorization=Bearer%20<token>.`);
      throw new UsageError(`${flag} takes key=value, not "${value}".`, `For example ${flag} team=search.`);
    }
    return [...previous, value];
  };
}

export function oneOf<T extends string>(flag: string, value: string, allowed: readonly T[]): T {
  if (!(allowed as readonly string[]).includes(value)) {
    throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, not "${value}".`);
  }
  return value as T;
}
