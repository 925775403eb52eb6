/**
 * Files the package ships next to its code (package.json, data/, templates/). src/ (run by vitest) and
 * dist/ (the bundle: every chunk sits in dist/ itself) are both one level below the package root, so
 * the same relative URL works from either.
 */
const PACKAGE_ROOT = new URL('../', import.meta.url);

/** The URL of `relativePath` (e.g. `data/proto/`) inside the installed package. */
export function packageFile(relativePath: string): URL {
  return new URL(relativePath, PACKAGE_ROOT);
}
