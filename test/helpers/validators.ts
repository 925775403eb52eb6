/**
 * Real validators (docker-compose, promtool, prometheus, chromium). On a user's machine a test that needs
 * a missing one is skipped with a message naming it; in CI (CI=true or LOOM_OTEL_REQUIRE_VALIDATORS=1)
 * a missing validator is a failure.
 */
import { execaSync } from 'execa';

export const validatorsRequired = Boolean(process.env.LOOM_OTEL_REQUIRE_VALIDATORS) || ['true', '1'].includes(String(process.env.CI).toLowerCase());

export function hasTool(command: string): boolean {
  return execaSync('sh', ['-c', `command -v ${command}`], { reject: false }).exitCode === 0;
}

/**
 * Returns whether the tool is there. Throws (failing the suite) when it is missing and validators are
 * required; otherwise prints which tool is missing so the skip is explained.
 */
export function requireTool(command: string, installHint: string): boolean {
  if (hasTool(command)) return true;
  const message = `${command} is not installed (${installHint}); tests that need it are skipped.`;
  if (validatorsRequired) throw new Error(`${command} is required in CI but missing: ${installHint}`);
  console.warn(message);
  return false;
}
