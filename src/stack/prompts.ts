/**
 * The interactive questions of `init` (@inquirer/prompts). Each question has a flag; a question whose
 * flag was given is not asked. Answers are checked with the same rules as flags. Ctrl-C at a prompt
 * becomes an InterruptedError (exit 130) before anything is written.
 */
import { InterruptedError } from '../errors.js';
import { isPartEnabled, OPTIONAL_PARTS, PORT_DESCRIPTIONS, PORT_FLAGS, PORT_OWNER, type OptionalPartName, type PortRole, type StackOptions } from './model.js';
import {
  composeNameProblem,
  environmentProblem,
  partsProblem,
  portClashes,
  portProblem,
  samplingProblem,
  type OptionOverrides,
} from './options.js';

/** Which options came from flags (so their questions are skipped). */
export interface GivenOptions {
  name: boolean;
  parts: boolean;
  ports: boolean;
  expose: boolean;
  environment: boolean;
  samplingPercent: boolean;
}

const PART_LABELS: Readonly<Record<OptionalPartName, string>> = {
  jaeger: 'Jaeger: stores traces, UI to search and view them',
  prometheus: 'Prometheus: stores the RED metrics derived from spans',
  grafana: 'Grafana: the Loom agents dashboard (needs Prometheus or Jaeger)',
};


/** Asks what the flags did not say; `current` holds flags over the existing stack's options or the defaults. */
export async function askForOptions(current: StackOptions, given: GivenOptions): Promise<OptionOverrides> {
  const prompts = await import('@inquirer/prompts');
  const validate = (problem: (value: string) => string | undefined) => (value: string) => problem(value.trim()) ?? true;
  const answers: OptionOverrides = {};
  try {
    if (!given.name) {
      answers.name = (
        await prompts.input({ message: 'Stack name (Compose project name)', default: current.name, validate: validate(composeNameProblem) })
      ).trim();
    }
    let parts = current.parts;
    if (!given.parts) {
      const chosen = await prompts.checkbox<OptionalPartName>({
        message: 'Parts of the stack (the collector always runs)',
        choices: OPTIONAL_PARTS.map((part) => ({ value: part, name: PART_LABELS[part], checked: current.parts[part] })),
        validate: (items) => partsProblem(partsFrom(items.map((item) => item.value))) ?? true,
      });
      parts = partsFrom(chosen);
      answers.parts = parts;
    }
    if (!given.ports) {
      const roles = (Object.keys(PORT_FLAGS) as PortRole[]).filter((role) => isPartEnabled({ ...current, parts }, PORT_OWNER[role]));
      const summary = roles.map((role) => `${current.ports[role]} ${PORT_DESCRIPTIONS[role]}`).join(', ');
      const keep = await prompts.confirm({ message: `Host ports: ${summary}. Keep them?`, default: true });
      if (!keep) {
        const ports = { ...current.ports };
        for (const role of roles) {
          const answer = await prompts.input({
            message: `Host port for ${PORT_DESCRIPTIONS[role]} (${PORT_FLAGS[role]})`,
            default: String(current.ports[role]),
            validate: (value) => {
              const port = Number(value.trim());
              const problem = value.trim() === '' ? portProblem(Number.NaN) : portProblem(port);
              if (problem) return problem;
              const clash = portClashes({ parts, ports: { ...ports, [role]: port } }).find((c) => c.includes(PORT_FLAGS[role]));
              return clash ? `${clash}; choose another port.` : true;
            },
          });
          ports[role] = Number(answer.trim());
        }
        answers.ports = ports;
      }
    }
    if (!given.expose) {
      answers.expose = await prompts.select<boolean>({
        message: 'Publish the ports on',
        default: current.expose,
        choices: [
          { value: false, name: '127.0.0.1 only: this machine (recommended)' },
          { value: true, name: 'all interfaces: anyone who can reach this machine (--expose)' },
        ],
      });
    }
    if (!given.environment) {
      answers.environment = (
        await prompts.input({ message: 'Deployment environment (deployment.environment)', default: current.environment, validate: validate(environmentProblem) })
      ).trim();
    }
    if (!given.samplingPercent && parts.jaeger) {
      const sampling = await prompts.input({
        message: 'Percentage of traces Jaeger keeps (metrics always count every span)',
        default: String(current.samplingPercent),
        validate: validate((value) => (value === '' ? samplingProblem(Number.NaN) : samplingProblem(Number(value)))),
      });
      answers.samplingPercent = Number(sampling.trim());
    }
  } catch (error) {
    if (error instanceof Error && error.name === 'ExitPromptError') throw new InterruptedError();
    throw error;
  }
  return answers;
}

function partsFrom(chosen: readonly OptionalPartName[]): Record<OptionalPartName, boolean> {
  return Object.fromEntries(OPTIONAL_PARTS.map((part) => [part, chosen.includes(part)])) as Record<OptionalPartName, boolean>;
}
