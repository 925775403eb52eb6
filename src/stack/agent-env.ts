/**
 * The variables an agent needs to send to a stack, and the lines that set them in a shell. init's
 * "Next:", up, up --local and the stack's README all print them from here, so they never disagree.
 */
import type { StackModel } from './model.js';

export type Shell = 'posix' | 'powershell';

/** The variables an agent on this machine needs, in the order they are printed. */
export function agentEnvironment(model: StackModel): Record<string, string> {
  return {
    OTEL_EXPORTER_OTLP_ENDPOINT: model.otlp.grpcEndpoint,
    OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc',
    OTEL_SERVICE_NAME: 'my-agent',
    DEPLOYMENT_ENV: model.options.environment,
  };
}

/** `export K=V` for sh/bash/zsh, `$env:K = "V"` for PowerShell. Values are URLs and names: nothing to quote in sh. */
export function exportLines(env: Record<string, string>, shell: Shell = 'posix'): string[] {
  return Object.entries(env).map(([key, value]) => (shell === 'powershell' ? `$env:${key} = "${value.replace(/[`"$]/g, '`$&')}"` : `export ${key}=${value}`));
}

/**
 * The shell the user most likely types into: PowerShell on Windows unless a POSIX shell (Git Bash, MSYS,
 * Cygwin) set SHELL, or a PowerShell on any system that marks itself (PSModulePath) without SHELL.
 */
export function userShell(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Shell {
  if (env.SHELL) return 'posix';
  return platform === 'win32' || env.PSModulePath ? 'powershell' : 'posix';
}
