/**
 * A small typed validator for JSON read from files we do not control (the stack manifest). Each schema
 * checks a value, returns a fresh copy (defaults filled in) and reports every problem by its field path
 * and what was expected, so a message can say "options.expose: expected true or false, got the string
 * "false"". Hand-written rather than ajv: importing ajv and compiling the manifest schema took 150 ms
 * and more on our CI machine at every start of `init` (which must stay fast), a precompiled ajv module
 * is generated code nobody reviews, and ajv's messages ("must be boolean") show neither the value nor
 * the expected one in words. The types come from the schema itself (`Infer`), so they cannot disagree.
 */

import { escapeControl } from '../output/terminal-safe.js';

export interface SchemaIssue {
  /** The field, as a path: `options.ports.grafana`, `files["../x"]`. */
  path: string;
  /** What was expected and what was found. */
  message: string;
}

export interface Schema<T> {
  /** What a valid value looks like, for messages: "true or false", "a whole number from 1 to 65535". */
  readonly expected: string;
  /** Present on schemas made by `optional`: the value an absent field takes. */
  readonly fallback?: { value: T };
  /** Checks `value`; returns a copy when valid. When `issues` grew, the result must not be used. */
  read(value: unknown, at: string, issues: SchemaIssue[]): T;
}

export type Infer<S> = S extends Schema<infer T> ? T : never;

/** A value from a file, described safely for a terminal: quoted, control characters escaped, cut short. */
export function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return `the string ${quote(value)}`;
  return `the ${typeof value} ${String(value)}`;
}

/** `text` between double quotes, cut short, control characters escaped. */
export function quote(text: string, max = 60): string {
  return `"${escapeControl(text.length > max ? `${text.slice(0, max)}...` : text)}"`;
}

function fieldPath(at: string, key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? (at ? `${at}.${key}` : key) : `${at}[${quote(key)}]`;
}

function leaf<T>(expected: string, accepts: (value: unknown) => value is T, problem?: (value: T) => string | undefined): Schema<T> {
  return {
    expected,
    read(value, at, issues) {
      if (!accepts(value)) {
        issues.push({ path: at, message: `expected ${expected}, got ${describeValue(value)}` });
      } else {
        // Rules such as composeNameProblem quote the value as it is: escape what the file put in it.
        const found = problem?.(value);
        if (found) issues.push({ path: at, message: escapeControl(found) });
      }
      return value as T;
    },
  };
}

export function boolean(): Schema<boolean> {
  return leaf('true or false', (v): v is boolean => typeof v === 'boolean');
}

/** A string; `problem` adds a rule of its own (returns a message, or undefined when the value is fine). */
export function string(expected = 'a string', problem?: (value: string) => string | undefined): Schema<string> {
  return leaf(expected, (v): v is string => typeof v === 'string', problem);
}

export function number(expected: string, problem?: (value: number) => string | undefined): Schema<number> {
  return leaf(expected, (v): v is number => typeof v === 'number' && Number.isFinite(v), problem);
}

export function literal<const T extends string | number | boolean>(value: T): Schema<T> {
  return leaf(JSON.stringify(value), (v): v is T => v === value);
}

/** One of a few strings, e.g. `oneOf('compose', 'kubernetes')`. */
export function oneOf<const T extends string>(...values: T[]): Schema<T> {
  return leaf(values.map((v) => JSON.stringify(v)).join(' or '), (v): v is T => values.includes(v as T));
}

/** A field that may be absent (older manifests): it then reads as `fallback`. */
export function optional<T>(schema: Schema<T>, fallback: T): Schema<T> {
  return { ...schema, fallback: { value: fallback } };
}

type Shape = Record<string, Schema<unknown>>;
type FromShape<S extends Shape> = { [K in keyof S]: Infer<S[K]> };

/** An object with exactly these fields: a missing one (unless optional) and an unknown one (a typo) are both issues. */
export function object<S extends Shape>(shape: S): Schema<FromShape<S>> {
  const keys = Object.keys(shape);
  return {
    expected: 'an object',
    read(value, at, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path: at || '(top level)', message: `expected an object, got ${describeValue(value)}` });
        return value as FromShape<S>;
      }
      const record = value as Record<string, unknown>;
      const out: Record<string, unknown> = {};
      for (const key of keys) {
        const schema = shape[key] as Schema<unknown>;
        const field = fieldPath(at, key);
        if (Object.hasOwn(record, key)) out[key] = schema.read(record[key], field, issues);
        else if (schema.fallback) out[key] = structuredClone(schema.fallback.value);
        else issues.push({ path: field, message: `missing (expected ${schema.expected})` });
      }
      for (const key of Object.keys(record)) {
        if (!Object.hasOwn(shape, key)) {
          issues.push({ path: fieldPath(at, key), message: `not a known field (known here: ${keys.join(', ')})` });
        }
      }
      return out as FromShape<S>;
    },
  };
}

/** An object used as a map: `keyProblem` checks each key, `values` each value. */
export function record<T>(keyProblem: (key: string) => string | undefined, values: Schema<T>): Schema<Record<string, T>> {
  return {
    expected: 'an object',
    read(value, at, issues) {
      if (typeof value !== 'object' || value === null || Array.isArray(value)) {
        issues.push({ path: at, message: `expected an object, got ${describeValue(value)}` });
        return value as Record<string, T>;
      }
      const entries: [string, T][] = [];
      for (const [key, item] of Object.entries(value)) {
        const field = fieldPath(at, key);
        const problem = keyProblem(key);
        if (problem) issues.push({ path: field, message: problem });
        entries.push([key, values.read(item, field, issues)]);
      }
      // fromEntries defines own properties, so a key such as "__proto__" stays a plain key.
      return Object.fromEntries(entries);
    },
  };
}
