/**
 * Fills the plain files in templates/: `{{key}}` becomes the value, `{{#key}}...{{/key}}` stays only when
 * the value is set (non-empty, not false). A key the template names but the caller did not give is an
 * error, so a typo cannot leave a hole in a generated file.
 */
import { readFileSync } from 'node:fs';
import { packageFile } from '../../package-files.js';

export type TemplateValues = Record<string, string | boolean | undefined>;

const TEMPLATES_DIR = packageFile('templates/');

export function readTemplate(relativePath: string): string {
  return readFileSync(new URL(relativePath, TEMPLATES_DIR), 'utf8');
}

export function fillTemplate(template: string, values: TemplateValues): string {
  const lookup = (key: string) => {
    if (!(key in values)) throw new Error(`template value "${key}" was not given`);
    return values[key];
  };
  const withSections = template.replace(/\{\{#(\w+)\}\}\n?([\s\S]*?)\{\{\/\1\}\}\n?/g, (_, key: string, body: string) => {
    const value = lookup(key);
    return value === false || value === undefined || value === '' ? '' : body;
  });
  return withSections.replace(/\{\{(\w+)\}\}/g, (_, key: string) => String(lookup(key)));
}
