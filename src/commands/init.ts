// What init runs is imported statically: this module itself loads only when init runs (or its help is
// asked for), and one chunk graph loads faster than a wave of dynamic imports after it.
import type { Command } from 'commander';
import { ExitCode } from '../errors.js';
import { createOutputContext, type OutputContext } from '../output/context.js';
import { agentEnvironment, exportLines, userShell } from '../stack/agent-env.js';
import * as kubernetes from '../stack/kubernetes.js';
import * as manifest from '../stack/manifest.js';
import { DEFAULT_HOST_PORTS, PORT_DESCRIPTIONS, PORT_FLAGS, STACK_TARGETS, type PortRole, type StackModel } from '../stack/model.js';
import * as options from '../stack/options.js';
import * as scaffold from '../stack/scaffold.js';
import * as write from '../stack/write.js';
import { oneOf, parseNumber, parsePort } from './parse.js';
import { formatTable } from './stack-output.js';

/** `--otlp-grpc-port` -> `otlpGrpcPort`, the key commander stores the value under. */
function optionKey(flag: string): string {
  return flag.replace(/^--/, '').replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

export function defineInit(command: Command): void {
  command
    .option('--dir <path>', `stack directory (default ./${manifest.DEFAULT_STACK_DIR})`)
    .option('--name <name>', 'Compose project name: lowercase letters, digits, - and _ (default loom-observability)')
    .option('--no-jaeger', 'leave Jaeger out (no trace storage or trace UI)')
    .option('--no-prometheus', 'leave Prometheus out (spanmetrics stay on the collector on --metrics-port)')
    .option('--no-grafana', 'leave Grafana out')
    // The positive forms put a part back into a stack whose manifest recorded it as left out.
    .option('--jaeger', 'include Jaeger (default; overrides a recorded --no-jaeger)')
    .option('--prometheus [mode]', 'include Prometheus (default); Kubernetes: deployment (ours) or operator (a ServiceMonitor for kube-prometheus-stack)')
    .option('--grafana [mode]', 'include Grafana (default); Kubernetes: deployment (ours) or sidecar (labelled ConfigMaps for the Grafana chart)')
    .option('--target <target>', 'compose (docker-compose.yml, default) or kubernetes (a Kustomize directory)')
    .option('--namespace <name>', 'Kubernetes: namespace of the stack (default observability)')
    .option('--collector <mode>', 'Kubernetes: deployment (ours, default) or operator (an OpenTelemetryCollector resource)')
    .option('--prometheus-release <name>', 'Kubernetes, --prometheus operator: Helm release of kube-prometheus-stack (default kube-prometheus-stack)')
    .option('--prometheus-namespace <name>', 'Kubernetes, --prometheus operator: namespace of kube-prometheus-stack (default monitoring)')
    .option('--helm-values', 'Kubernetes: also write values.yaml for the opentelemetry-collector Helm chart')
    .option('--no-helm-values', 'Kubernetes: stop writing values.yaml');
  for (const [role, flag] of Object.entries(PORT_FLAGS) as [PortRole, string][]) {
    command.option(`${flag} <port>`, `host port for ${PORT_DESCRIPTIONS[role]} (default ${DEFAULT_HOST_PORTS[role]})`);
  }
  command
    .option('--expose', 'publish the ports on all interfaces instead of 127.0.0.1')
    .option('--no-expose', 'publish the ports on 127.0.0.1 only (default; overrides a recorded --expose)')
    .option('--environment <name>', 'default deployment.environment for spans (default development)')
    .option('--sampling <percent>', 'percentage of traces Jaeger keeps, 0-100 (default 100; metrics count every span)')
    .option('-y, --yes', 'never prompt: flags, then the existing stack, then defaults')
    .option('--force', 'overwrite generated files even if you edited them')
    .option('--check', 'write nothing; exit 1 listing the files that differ from what init would generate, with a unified diff on stdout')
    .addHelpText(
      'after',
      `
Re-running init keeps the options recorded in loom-otel.json unless a flag changes them. Files you
edited since init wrote them are left alone (exit 1) unless --force.

Examples:
  loom-otel init --yes                          defaults into ./${manifest.DEFAULT_STACK_DIR}
  loom-otel init --no-jaeger --grafana-port 3001
  loom-otel init --check                        in CI: fail when the stack drifted
  loom-otel init --target kubernetes --dir k8s  a Kustomize directory: kubectl apply -k k8s`,
    )
    .action(runInit);
}

async function runInit(flags: Record<string, unknown>, cmd: Command): Promise<void> {
  const ctx = createOutputContext(cmd.optsWithGlobals());
  const fromCli = (key: string) => cmd.getOptionValueSource(key) === 'cli';
  const string = (key: string) => (typeof flags[key] === 'string' ? (flags[key] as string) : undefined);

  // Every flag is parsed and checked before anything is asked or written.
  const ports: Partial<Record<PortRole, number>> = {};
  for (const [role, flag] of Object.entries(PORT_FLAGS) as [PortRole, string][]) {
    const value = string(optionKey(flag));
    if (value !== undefined) ports[role] = parsePort(flag, value);
  }
  // --prometheus and --grafana take an optional mode (Kubernetes): the flag alone only puts the part back.
  const mode = <T extends string>(key: string, allowed: readonly T[]) => (string(key) === undefined ? undefined : oneOf(`--${key}`, string(key) as string, allowed));
  const target = string('target') === undefined ? undefined : oneOf('--target', string('target') as string, STACK_TARGETS);
  const kubernetesOverrides = {
    namespace: string('namespace'),
    collector: mode('collector', kubernetes.COLLECTOR_MODES),
    prometheus: mode('prometheus', kubernetes.PROMETHEUS_MODES),
    prometheusRelease: string('prometheusRelease'),
    prometheusNamespace: string('prometheusNamespace'),
    grafana: mode('grafana', kubernetes.GRAFANA_MODES),
    helmValues: fromCli('helmValues') ? flags.helmValues === true : undefined,
  };
  const overrides = {
    target,
    kubernetes: kubernetesOverrides,
    name: string('name'),
    parts: {
      jaeger: fromCli('jaeger') ? flags.jaeger === true : undefined,
      prometheus: fromCli('prometheus') ? flags.prometheus !== false : undefined,
      grafana: fromCli('grafana') ? flags.grafana !== false : undefined,
    },
    ports,
    expose: fromCli('expose') ? flags.expose === true : undefined,
    environment: string('environment'),
    samplingPercent: string('sampling') === undefined ? undefined : parseNumber('--sampling', string('sampling') as string, 0, 100),
  };
  const force = flags.force === true;
  const check = flags.check === true;
  const dir = manifest.stackDir(string('dir'));

  if (!check) await scaffold.checkDirectoryWritable(dir);
  // --check writes nothing, so --force must not hide a broken manifest from it.
  const existing = await scaffold.loadExistingStack(dir, force && !check);
  let chosen = options.resolveOptions(scaffold.baseOptions(existing), overrides);

  // The questions are about host ports and interfaces: a Kubernetes stack takes its choices from flags.
  if (ctx.interactive && !check && chosen.target !== 'kubernetes') {
    const { askForOptions } = await import('../stack/prompts.js');
    ctx.out(ctx.style.bold(`loom-otel init: ${dir}`));
    const answers = await askForOptions(chosen, {
      name: overrides.name !== undefined,
      parts: Object.values(overrides.parts).some((v) => v !== undefined),
      ports: Object.keys(ports).length > 0,
      expose: overrides.expose !== undefined,
      environment: overrides.environment !== undefined,
      samplingPercent: overrides.samplingPercent !== undefined,
    });
    chosen = options.resolveOptions(chosen, answers);
  }

  if (check) {
    const { rendering, drift } = await scaffold.checkInit(existing, chosen);
    if (ctx.json) {
      ctx.emitJson({ ok: drift.length === 0, dir, drifted: drift, files: rendering.files.map((f) => f.path) });
    } else if (drift.length === 0) {
      ctx.out(`${ctx.style.green('Up to date:')} the ${rendering.files.length} files in ${dir} are what loom-otel init generates.`);
    } else {
      const reasons = {
        missing: 'missing',
        edited: 'edited by hand',
        foreign: 'was already there (not written by loom-otel)',
        outdated: 'out of date (generated by another loom-otel version or options)',
      };
      ctx.err(`${ctx.style.red('Drift:')} ${drift.length} file(s) in ${dir} differ from what loom-otel init generates:`);
      for (const file of drift) ctx.err(`  ${file.path}: ${reasons[file.reason]}`);
      // The differences on stdout, so `loom-otel init --check > stack.diff` keeps them.
      for (const line of drift.flatMap((file) => (file.diff ? file.diff.trimEnd().split('\n') : []))) {
        ctx.out(/^\+(?!\+\+ )/.test(line) ? ctx.style.green(line) : /^-(?!-- )/.test(line) ? ctx.style.red(line) : /^@@/.test(line) ? ctx.style.cyan(line) : line);
      }
      ctx.err(`${ctx.style.bold('Fix:')} run \`loom-otel init --dir ${dir}\` to regenerate (add --force to overwrite files edited by hand).`);
    }
    if (drift.length > 0) process.exitCode = ExitCode.Failed;
    return;
  }

  const warnings: string[] = [];
  if (!chosen.parts.jaeger && chosen.samplingPercent < 100) {
    warnings.push('--sampling has no effect without Jaeger: no traces are stored, and the metrics always count every span.');
  }
  const { rendering, plan } = await scaffold.planInit(existing, chosen, force);
  await write.applyPlan(plan);

  const kept = plan.files.filter((f) => f.action === 'keep-edited' || f.action === 'keep-obsolete');
  if (ctx.json) {
    ctx.emitJson({
      ok: kept.length === 0,
      dir,
      options: chosen,
      files: plan.files.map((f) => ({ path: f.path, action: f.action })),
      urls: Object.fromEntries(rendering.model.parts.filter((p) => p.uiUrl).map((p) => [p.name, p.uiUrl])),
      otlp: rendering.model.otlp,
      ...(chosen.target === 'kubernetes' ? { clusterOtlpEndpoint: kubernetes.inClusterOtlpEndpoint(rendering.model) } : {}),
      warnings,
    });
  } else {
    printSummary(ctx, dir, plan.files, warnings);
    const clusterEndpoint = kubernetes.inClusterOtlpEndpoint(rendering.model);
    if (clusterEndpoint) printKubernetesNext(ctx, dir, clusterEndpoint);
    else printComposeNext(ctx, dir, rendering.model);
  }
  const foreign = kept.filter((f) => f.action === 'keep-edited' && f.foreign).map((f) => f.path);
  const edited = kept.filter((f) => f.action === 'keep-edited' && !f.foreign).map((f) => f.path);
  if (foreign.length > 0) {
    ctx.err(`${ctx.style.yellow('Left alone:')} ${foreign.join(', ')} ${foreign.length === 1 ? 'was' : 'were'} already there (not written by loom-otel).`);
    ctx.err(`${ctx.style.bold('Fix:')} see how ${foreign.length === 1 ? 'it differs' : 'they differ'} with \`loom-otel init --check --dir ${dir}\`; re-run with --force to replace ${foreign.length === 1 ? 'it' : 'them'}.`);
  }
  const obsolete = kept.filter((f) => f.action === 'keep-obsolete').map((f) => f.path);
  if (edited.length > 0) {
    ctx.err(`${ctx.style.yellow('Left alone:')} ${edited.join(', ')} ${edited.length === 1 ? 'was' : 'were'} changed since loom-otel wrote ${edited.length === 1 ? 'it' : 'them'}.`);
    ctx.err(`${ctx.style.bold('Fix:')} see the differences with \`loom-otel init --check --dir ${dir}\`; re-run with --force to overwrite edited files.`);
  }
  // --force never deletes a file the user edited, so the fix for these is the user's own decision.
  if (obsolete.length > 0) {
    ctx.err(
      `${ctx.style.yellow('Left alone:')} ${obsolete.join(', ')} ${obsolete.length === 1 ? 'is' : 'are'} no longer generated (a part was left out) but ${obsolete.length === 1 ? 'was' : 'were'} changed since loom-otel wrote ${obsolete.length === 1 ? 'it' : 'them'}.`,
    );
    ctx.err(`${ctx.style.bold('Fix:')} nothing in the stack uses ${obsolete.length === 1 ? 'it' : 'them'} now; delete ${obsolete.length === 1 ? 'it' : 'them'} if you no longer need your changes.`);
  }
  if (kept.length > 0) process.exitCode = ExitCode.Failed;
}

type Ctx = OutputContext;
type Planned = write.PlannedFile;

const ACTION_WORDS: Readonly<Record<Planned['action'], string>> = {
  create: 'created',
  update: 'updated',
  unchanged: 'unchanged',
  overwrite: 'overwritten (--force)',
  'keep-edited': 'left alone: you edited it',
  remove: 'removed (part left out)',
  'keep-obsolete': 'left alone: no longer generated, but you edited it',
};

function printSummary(ctx: Ctx, dir: string, files: Planned[], warnings: string[]): void {
  const { style } = ctx;
  const changed = files.some((f) => f.action !== 'unchanged');
  ctx.out(changed ? `${style.green('Stack written to')} ${dir}` : `${style.green('Nothing to change in')} ${dir}`);
  for (const file of files) {
    const word = file.foreign ? 'left alone: was already there (not written by loom-otel)' : ACTION_WORDS[file.action];
    const colored = file.action.startsWith('keep') ? style.yellow(word) : file.action === 'unchanged' ? style.dim(word) : word;
    ctx.out(`  ${file.path.padEnd(44)} ${colored}`);
  }
  for (const warning of warnings) ctx.err(`${style.yellow('Note:')} ${warning}`);
  ctx.out();
}

/** A Kubernetes stack is applied with kubectl; its agents run in the cluster. */
function printKubernetesNext(ctx: Ctx, dir: string, clusterEndpoint: string): void {
  ctx.out(`${ctx.style.bold('Next:')} kubectl apply -k ${dir}   applies it to the cluster kubectl points at`);
  ctx.out();
  ctx.out(`Point a Loom agent in the cluster at it: OTEL_EXPORTER_OTLP_ENDPOINT=${clusterEndpoint}`);
  ctx.out(`${dir}/README.md shows the port-forwards that let send-test-trace and doctor reach it from here.`);
}

function printComposeNext(ctx: Ctx, dir: string, model: StackModel): void {
  const urls = model.parts.filter((p) => p.uiUrl).map((p) => [p.service, p.uiUrl ?? '']);
  if (model.dashboardUrl) urls.push(['dashboard', `${model.dashboardUrl}  (login in ${dir}/.env)`]);
  ctx.out(`${ctx.style.bold('Next:')} ${ctx.cli} up --dir ${dir}   starts it and waits until every part is healthy`);
  ctx.out();
  for (const line of formatTable(urls)) ctx.out(line);
  ctx.out();
  ctx.out('Point a Loom agent on this machine at it:');
  for (const line of exportLines(agentEnvironment(model), userShell())) ctx.out(`  ${line}`);
}
