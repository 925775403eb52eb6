import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { invokedAs } from '../src/output/invocation.js';
import { exportLines, userShell } from '../src/stack/agent-env.js';

describe('the command form hints print', () => {
  it('is `npx loom-otel` when npx ran the bin from a node_modules folder', () => {
    expect(invokedAs({ npm_command: 'exec' }, '/home/me/.npm/_npx/07f6ce45/node_modules/.bin/loom-otel')).toBe('npx loom-otel');
    expect(invokedAs({ npm_command: 'exec' }, 'C:\\Users\\me\\proj\\node_modules\\loom-otel\\bin\\loom-otel.js')).toBe('npx loom-otel');
  });

  it('is `loom-otel` for a global install, an npm script, or a clone', () => {
    expect(invokedAs({}, '/usr/local/bin/loom-otel')).toBe('loom-otel');
    expect(invokedAs({ npm_command: 'run-script' }, '/proj/node_modules/.bin/loom-otel')).toBe('loom-otel');
    // A global loom-otel started from a shell that `npx -c` opened.
    expect(invokedAs({ npm_command: 'exec' }, '/usr/local/bin/loom-otel')).toBe('loom-otel');
  });
});

describe('export lines', () => {
  const env = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4317', OTEL_SERVICE_NAME: 'my-agent' };

  it('are `export K=V` for POSIX shells and `$env:K = "V"` for PowerShell', () => {
    expect(exportLines(env)).toEqual(['export OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:4317', 'export OTEL_SERVICE_NAME=my-agent']);
    expect(exportLines(env, 'powershell')).toEqual(['$env:OTEL_EXPORTER_OTLP_ENDPOINT = "http://127.0.0.1:4317"', '$env:OTEL_SERVICE_NAME = "my-agent"']);
    expect(exportLines({ DEPLOYMENT_ENV: 'a"$b' }, 'powershell')).toEqual([`$env:DEPLOYMENT_ENV = 'a"$b'`]);
  });

  it('single-quote a value with anything a shell reads, so the variable gets exactly that value', () => {
    const value = `it's $(rm -rf ~) "prod"; \`x\``;
    const [posix] = exportLines({ DEPLOYMENT_ENV: value });
    expect(posix).toBe(`export DEPLOYMENT_ENV='it'\\''s $(rm -rf ~) "prod"; \`x\`'`);
    expect(execFileSync('sh', ['-c', `${posix}; printf %s "$DEPLOYMENT_ENV"`], { encoding: 'utf8' })).toBe(value);
    expect(exportLines({ DEPLOYMENT_ENV: value }, 'powershell')).toEqual([`$env:DEPLOYMENT_ENV = 'it''s $(rm -rf ~) "prod"; \`x\`'`]);
    expect(exportLines({ DEPLOYMENT_ENV: 'a\u2019b' }, 'powershell')).toEqual(["$env:DEPLOYMENT_ENV = 'a\u2019\u2019b'"]);
    expect(exportLines({ DEPLOYMENT_ENV: '' })).toEqual(["export DEPLOYMENT_ENV=''"]);
    expect(exportLines({ DEPLOYMENT_ENV: 'staging-2.eu:a/b@c%d+e=f,g' })).toEqual(['export DEPLOYMENT_ENV=staging-2.eu:a/b@c%d+e=f,g']);
  });

  it('follow the shell: PowerShell on Windows or where PSModulePath marks it, POSIX where SHELL is set', () => {
    expect(userShell({ SHELL: '/bin/bash' }, 'linux')).toBe('posix');
    expect(userShell({}, 'win32')).toBe('powershell');
    expect(userShell({ SHELL: '/usr/bin/bash' }, 'win32')).toBe('posix'); // Git Bash
    expect(userShell({ PSModulePath: '/opt/microsoft/powershell/7/Modules' }, 'linux')).toBe('powershell');
  });
});
