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

/** Characters neither shell gives a meaning to: a value made only of these is printed as it is. */
const PLAIN_VALUE = /^[A-Za-z0-9._:/@%+=,-]+$/;

/**
 * `export K=V` for sh/bash/zsh, `$env:K = "V"` for PowerShell. Our own values are URLs and names, but
 * DEPLOYMENT_ENV may come from the user's environment: anything else is single-quoted, with `'\''` for
 * a quote in sh and the quote doubled in PowerShell (which also reads the typographic ones as quotes).
 */
export function exportLines(env: Record<string, string>, shell: Shell = 'posix'): string[] {
  return Object.entries(env).map(([key, value]) => {
    const plain = PLAIN_VALUE.test(value);
    if (shell === 'powershell') return `$env:${key} = ${plain ? `"${value}"` : `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, '$&$&')}'`}`;
    return `export ${key}=${plain ? value : `'${value.replace(/'/g, `'\\''`)}'`}`;
  });
}

/**
 * The shell the user most likely types into: PowerShell on Windows unless a POSIX shell (Git Bash, MSYS,
 * Cygwin) set SHELL, or a PowerShell on any system that marks itself (PSModulePath) without SHELL.
 */
export function userShell(env: NodeJS.ProcessEnv = process.env, platform: NodeJS.Platform = process.platform): Shell {
  if (env.SHELL) return 'posix';
  return platform === 'win32' || env.PSModulePath ? 'powershell' : 'posix';
}
