import type { Command } from 'commander';
import { createOutputContext, type GlobalFlags } from '../output/context.js';
import { mark, plural } from '../output/style.js';
import { OTLP_PROTOCOLS } from '../otlp/settings.js';
import { collectKeyValue, oneOf, parseSeconds } from './parse.js';

interface DoctorFlags {
  dir?: string;
  endpoint?: string;
  protocol?: string;
  header?: string[];
  insecure?: boolean;
  timeout: string;
  collectorConfig?: string;
  collectorImage?: string;
  inContainer?: boolean;
}

export function defineDoctor(command: Command): void {
  command
    .option('--dir <path>', 'stack directory (default ./observability)')
    .option('--endpoint <url>', 'OTLP endpoint to check (default OTEL_EXPORTER_OTLP_* variables, then the stack, then http://localhost:4317)')
    .option('--protocol <protocol>', `OTLP protocol: ${OTLP_PROTOCOLS.join(', ')}`)
    .option('--header <key=value>', 'header sent with the probe, repeatable (values are never printed)', collectKeyValue('--header', { secret: true }))
    .option('--insecure', 'plaintext for an endpoint given without a scheme')
    .option('--timeout <seconds>', 'bound of every check; checks run at the same time', '3')
    .option('--collector-config <file>', 'lint this collector config file (only that)')
    .option('--collector-image <image>', 'image the collector config runs on (default the compose file\'s, else the contrib image)')
    .option('--in-container', 'judge the OTEL_* settings as seen from inside a container (default detected)')
    .option('--no-in-container', 'judge the OTEL_* settings as seen from the host')
    .addHelpText(
      'after',
      `
Exit codes: 0 nothing failed (warnings allowed), 1 at least one check failed, 2 bad usage.

Examples:
  loom-otel doctor                                    the endpoint an agent here would use, the stack, the engine
  loom-otel doctor --endpoint https://otlp.example.com:4317 --header authorization=Bearer%20xyz
  loom-otel doctor --collector-config otel-config.yaml --collector-image otel/opentelemetry-collector:0.158.0`,
    )
    .action(async (flags: DoctorFlags, command: Command) => {
      const ctx = createOutputContext(command.optsWithGlobals() as GlobalFlags);
      const timeoutMs = parseSeconds('--timeout', flags.timeout, 600);
      const protocol = flags.protocol === undefined ? undefined : oneOf('--protocol', flags.protocol, OTLP_PROTOCOLS);
      const { stackDir } = await import('../stack/manifest.js');
      const { runDoctor } = await import('../checks/doctor.js');
      const report = await runDoctor({
        flags: {
          ...(flags.endpoint !== undefined ? { endpoint: flags.endpoint } : {}),
          ...(protocol ? { protocol } : {}),
          ...(flags.header ? { headers: flags.header } : {}),
          ...(flags.insecure ? { insecure: true } : {}),
        },
        timeoutMs,
        env: process.env,
        dir: stackDir(flags.dir),
        ...(flags.collectorConfig !== undefined ? { collectorConfig: flags.collectorConfig } : {}),
        ...(flags.collectorImage !== undefined ? { collectorImage: flags.collectorImage } : {}),
        ...(flags.inContainer !== undefined ? { inContainer: flags.inContainer } : {}),
      });
      process.exitCode = report.ok ? 0 : 1;
      if (ctx.json) {
        ctx.emitJson(report);
        return;
      }
      const { style } = ctx;
      // The fix lines up under the check's text: marks are one symbol in colour, a bracketed word without.
      const fixIndent = ' '.repeat(2 + (style.color ? 1 : 6) + 1);
      for (const group of report.groups) {
        ctx.out(style.bold(group.title));
        for (const check of group.checks) {
          // A detail of several lines (every bad field of a manifest) continues under the check's text.
          const detail = check.detail?.replace(/\n/g, `\n${fixIndent}`);
          ctx.out(`  ${mark(style, check.status)} ${check.title}${detail ? `: ${detail}` : ''}`);
          if (check.fix && (check.status === 'fail' || check.status === 'warn')) ctx.out(`${fixIndent}${style.bold('Fix:')} ${check.fix}`);
        }
        ctx.out();
      }
      const { fail, warn, pass, skip } = report.summary;
      const counts = [`${fail} failed`, plural(warn, 'warning'), `${pass} passed`, `${skip} skipped`].join(', ');
      const verdict = fail > 0 ? style.red('Problems found') : warn > 0 ? style.yellow('No failures') : style.green('All good');
      ctx.out(`${verdict}: ${counts} (${(report.durationMs / 1000).toFixed(1)} s, timeout ${timeoutMs / 1000} s)`);
    });
}
