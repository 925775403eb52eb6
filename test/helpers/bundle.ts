/**
 * dist/ is an esbuild bundle: a module the CLI loads is a chunk holding many sources. dist/meta.json
 * (esbuild's metafile, written by the build) says which; tests use it to tell what a command loaded.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ROOT } from './cli.js';

interface Metafile {
  outputs: Record<string, { inputs: Record<string, unknown> }>;
}

/**
 * The sources (`src/commands/init.ts`, `node_modules/yaml/dist/index.js`, ...) inside the loaded files of
 * dist/, given as file URLs (ES modules, from a resolve hook) or absolute paths (require.cache).
 */
export function bundledSources(loadedUrls: readonly string[]): string[] {
  const meta = JSON.parse(readFileSync(path.join(ROOT, 'dist/meta.json'), 'utf8')) as Metafile;
  const sources = new Set<string>();
  for (const url of loadedUrls) {
    if (!url.startsWith('file:') && !path.isAbsolute(url)) continue;
    const output = meta.outputs[path.relative(ROOT, url.startsWith('file:') ? fileURLToPath(url) : url)];
    // The build's own interop modules name the absolute path of the package they stand for.
    for (const input of Object.keys(output?.inputs ?? {})) sources.add(path.relative(ROOT, path.resolve(ROOT, input.replace(/^[a-z-]+:/, ''))));
  }
  return [...sources].sort();
}
