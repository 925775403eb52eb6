import type { Command, Option } from 'commander';
import { completionScript, SHELLS, type CompletionFlag } from '../output/completion.js';
import { COMMANDS } from './catalogue.js';
import { oneOf } from './parse.js';

export function defineCompletion(command: Command): void {
  command
    .argument('<shell>', `the shell: ${SHELLS.join(', ')}`)
    .addHelpText(
      'after',
      `
Load it in the running shell, or add the line to the shell's start-up file:
  bash   source <(loom-otel completion bash)         in ~/.bashrc
  zsh    source <(loom-otel completion zsh)          in ~/.zshrc, after compinit
  fish   loom-otel completion fish | source          in ~/.config/fish/config.fish`,
    )
    .action(async (shell: string, _options: unknown, self: Command) => {
      const chosen = oneOf('<shell>', shell, SHELLS);
      const program = self.parent!;
      const commands = await Promise.all(
        COMMANDS.map(async (entry) => {
          // Each command's flags, as its own module declares them.
          // createCommand: commander itself lives in dist/cli.cjs, not in this command's module.
          const definition = self.createCommand(entry.name);
          (await entry.load())(definition);
          return { name: entry.name, description: entry.description, flags: definition.options.map(flagOf), ...(entry.name === 'completion' ? { words: SHELLS } : {}) };
        }),
      );
      const globalFlags = [...program.options.map(flagOf), { names: ['-h', '--help'], description: 'help' }];
      process.stdout.write(completionScript(chosen, { bin: 'loom-otel', globalFlags, commands }));
    });
}

function flagOf(option: Option): CompletionFlag {
  const names = [option.short, option.long].filter((name): name is string => Boolean(name));
  const takesValue = option.required || option.optional;
  const value = takesValue ? (/<(path|file|dir)>/.test(option.flags) ? 'path' : 'other') : undefined;
  return { names, description: option.description, ...(value ? { value } : {}) };
}
