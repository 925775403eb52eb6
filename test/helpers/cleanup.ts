/**
 * What a test leaves behind, undone after each test: background processes it started (killed if it
 * failed before stopping them) and cleanups such as temp directories.
 */
import { afterEach } from 'vitest';

export function cleanupAfterEach(): { cleanups: Array<() => Promise<void>>; started: Set<number> } {
  const cleanups: Array<() => Promise<void>> = [];
  const started = new Set<number>();
  afterEach(async () => {
    for (const pid of started) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    started.clear();
    for (const cleanup of cleanups.splice(0)) await cleanup();
  });
  return { cleanups, started };
}
