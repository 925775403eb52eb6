/**
 * Shell completion scripts for bash, zsh and fish, written from the command tree (names, flags and
 * descriptions), so they list exactly what the CLI accepts.
 */
export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type CompletionShell = (typeof SHELLS)[number];

export interface CompletionFlag {
  /** `--dir`, `-y`: every spelling of the flag. */
  names: string[];
  description: string;
  /** Takes a value (`--dir <path>`); `path` when the value is a file or directory. */
  value?: 'path' | 'other';
}

export interface CompletionCommand {
  name: string;
  description: string;
  flags: CompletionFlag[];
  /** Words completed as the command's argument (`completion bash`). */
  words?: readonly string[];
}

export interface CompletionTree {
  bin: string;
  globalFlags: CompletionFlag[];
  commands: CompletionCommand[];
}

export function completionScript(shell: CompletionShell, tree: CompletionTree): string {
  return shell === 'bash' ? bash(tree) : shell === 'zsh' ? zsh(tree) : fish(tree);
}

const functionName = (bin: string) => `_${bin.replace(/[^A-Za-z0-9]/g, '_')}`;
const allNames = (flags: CompletionFlag[]) => flags.flatMap((flag) => flag.names);
/** In single quotes for sh, zsh and fish alike ('it'\''s'). */
const quoted = (text: string) => `'${text.replace(/'/g, `'\\''`)}'`;

function bash(tree: CompletionTree): string {
  const fn = functionName(tree.bin);
  const cases = tree.commands.map((command) => {
    const pathFlags = command.flags.filter((flag) => flag.value === 'path').flatMap((flag) => flag.names);
    const words = [...allNames(command.flags), ...allNames(tree.globalFlags), ...(command.words ?? [])].join(' ');
    const files = pathFlags.length > 0 ? `      case "$prev" in ${pathFlags.join('|')}) COMPREPLY=($(compgen -f -- "$cur")); return;; esac\n` : '';
    return `    ${command.name})\n${files}      COMPREPLY=($(compgen -W ${quoted(words)} -- "$cur"));;`;
  });
  const top = [...tree.commands.map((command) => command.name), ...allNames(tree.globalFlags)].join(' ');
  return `# ${tree.bin} completion for bash. Load it with: source <(${tree.bin} completion bash)
${fn}() {
  local cur="\${COMP_WORDS[COMP_CWORD]}" prev="\${COMP_WORDS[COMP_CWORD-1]}" command="" word
  for word in "\${COMP_WORDS[@]:1:COMP_CWORD-1}"; do
    case "$word" in -*) ;; *) command="$word"; break;; esac
  done
  case "$command" in
${cases.join('\n')}
    *) COMPREPLY=($(compgen -W ${quoted(top)} -- "$cur"));;
  esac
}
complete -o default -F ${fn} ${tree.bin}
`;
}

function zsh(tree: CompletionTree): string {
  const fn = functionName(tree.bin);
  const described = (flags: CompletionFlag[]) => flags.flatMap((flag) => flag.names.map((name) => quoted(`${name}:${flag.description}`))).join(' ');
  const cases = tree.commands.map((command) => {
    const words = command.words ? `\n      compadd -- ${command.words.join(' ')}` : '';
    const pathFlags = command.flags.filter((flag) => flag.value === 'path').flatMap((flag) => flag.names);
    const files = pathFlags.length > 0 ? `\n      case "$words[CURRENT-1]" in ${pathFlags.join('|')}) _files; return;; esac` : '';
    return `    ${command.name})${files}\n      flags=(${described(command.flags)} ${described(tree.globalFlags)})\n      _describe -t flags 'flag' flags${words};;`;
  });
  const commands = tree.commands.map((command) => quoted(`${command.name}:${command.description}`)).join(' ');
  return `#compdef ${tree.bin}
# ${tree.bin} completion for zsh. Load it with: source <(${tree.bin} completion zsh)
${fn}() {
  local command="" word
  local -a flags commands
  for word in "\${(@)words[2,CURRENT-1]}"; do
    [[ "$word" == -* ]] || { command="$word"; break; }
  done
  case "$command" in
${cases.join('\n')}
    *)
      commands=(${commands})
      flags=(${described(tree.globalFlags)})
      _describe -t commands 'command' commands
      _describe -t flags 'flag' flags;;
  esac
}
compdef ${fn} ${tree.bin}
`;
}

function fish(tree: CompletionTree): string {
  const flagLines = (flags: CompletionFlag[], condition: string) =>
    flags.map((flag) => {
      const names = flag.names.map((name) => (name.startsWith('--') ? `-l ${name.slice(2)}` : `-s ${name.slice(1)}`)).join(' ');
      const value = flag.value === 'path' ? ' -r -F' : flag.value === 'other' ? ' -x' : '';
      return `complete -c ${tree.bin} ${condition}${names}${value} -d ${quoted(flag.description)}`;
    });
  const names = tree.commands.map((command) => command.name).join(' ');
  const lines = [
    `# ${tree.bin} completion for fish. Load it with: ${tree.bin} completion fish | source`,
    `complete -c ${tree.bin} -f`,
    ...flagLines(tree.globalFlags, ''),
    ...tree.commands.map((command) => `complete -c ${tree.bin} -n ${quoted(`not __fish_seen_subcommand_from ${names}`)} -a ${command.name} -d ${quoted(command.description)}`),
    ...tree.commands.flatMap((command) => {
      const condition = `-n ${quoted(`__fish_seen_subcommand_from ${command.name}`)} `;
      const words = command.words ? [`complete -c ${tree.bin} ${condition}-a ${quoted(command.words.join(' '))}`] : [];
      return [...flagLines(command.flags, condition), ...words];
    }),
  ];
  return `${lines.join('\n')}\n`;
}
