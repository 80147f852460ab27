/**
 * How the user typed this command, for every hint that names one: `npx execfabric` when npm ran it
 * (`npx execfabric …` or `npm exec execfabric …` in a clone, where the bin is not on PATH; npm
 * sets `npm_command=exec` for both), plain `execfabric` otherwise (installed, or run by a script).
 */
export const COMMAND = 'execfabric';

/**
 * The command as invoked: `npx execfabric` or `execfabric`. `env` is the command's own (the
 * CliContext's), never read from `process.env` here: a caller that runs the CLI with another
 * environment (a test, `main(argv, { env })`) gets hints for that one.
 */
export function commandName(env: NodeJS.ProcessEnv): string {
  return env.npm_command === 'exec' ? `npx ${COMMAND}` : COMMAND;
}

/** A command line to suggest, e.g. `hint('login --host URL', env)` → `npx execfabric login --host URL`. */
export function hint(args: string, env: NodeJS.ProcessEnv): string {
  return `${commandName(env)} ${args}`;
}
