/**
 * How the user ran loom-otel, so that a hint prints a command they can paste: `npx loom-otel up` after
 * `npx loom-otel init`, `loom-otel up` after `loom-otel init`. npx (and `npm exec`) set npm_command=exec
 * and run the package's bin from a node_modules folder; a global or linked install runs from elsewhere,
 * and `npm run`/`npm test` set another npm_command.
 */
export function invokedAs(env: NodeJS.ProcessEnv = process.env, script: string = process.argv[1] ?? ''): string {
  const viaNpx = env.npm_command === 'exec' && /[\\/]node_modules[\\/]/.test(script);
  return viaNpx ? 'npx loom-otel' : 'loom-otel';
}

/**
 * Every command a message tells the user to run is quoted in backticks: `loom-otel up`. Domain code
 * (which never knows how loom-otel was started) writes it so; the output boundary prints it in the form
 * the user ran, here `npx loom-otel up` after an npx run. Prose that merely names a mode stays unquoted.
 */
export function commandsAsInvoked(text: string, cli: string): string {
  return cli === 'loom-otel' ? text : text.replace(/`loom-otel(?=[ `])/g, `\`${cli}`);
}
