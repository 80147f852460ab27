/**
 * The `execfabric` command line, built on commander: the program, its global options and every
 * command, each a thin call into its module. Errors become one message on stderr (with details and
 * hints) and an exit code (see errors.ts); nothing else prints a stack.
 */
import {
  Command,
  CommanderError,
  type CommandUnknownOpts,
  InvalidArgumentError,
  Option,
} from '@commander-js/extra-typings';
import { EXECUTION_STATUSES } from '../../functions/contract/executions.ts';
import packageJson from '../../package.json' with { type: 'json' };
import { DEFAULT_LOCAL_PORT } from '../local/port.ts';
import { RETRY_MAX_ATTEMPTS, RETRY_MAX_TOTAL_WAIT_SECONDS, RETRY_MAX_WAIT_SECONDS } from './client.ts';
import { ConfigStore, configDir } from './config.ts';
import type { CliContext } from './context.ts';
import { ApiError, CliError, ConnectionError, EXIT, UsageError } from './errors.ts';
import { commandName, hint } from './invocation.ts';
import { Output } from './output.ts';
import { ENV_HOST, ENV_RETRY, ENV_TOKEN, exampleHost } from './target.ts';

export const VERSION: string = packageJson.version;

function positiveInteger(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 1) throw new InvalidArgumentError('must be a positive integer');
  return number;
}

function port(value: string): number {
  const number = Number(value);
  if (!Number.isInteger(number) || number < 0 || number > 65535)
    throw new InvalidArgumentError('must be a port number');
  return number;
}

type HelpItems = readonly (readonly [term: string, description: string])[];

/**
 * A section of a command's help (Environment, Exit codes) laid out by commander as it lays out its
 * own: the descriptions in the column of the options' and commands', wrapped to the help's width.
 */
function helpSection(heading: string, items: HelpItems) {
  return ({ command }: { command: CommandUnknownOpts }): string => {
    const helper = command.createHelp();
    helper.prepareContext({ helpWidth: command.configureOutput().getOutHelpWidth?.() });
    const width = Math.max(
      helper.padWidth(command, helper),
      ...items.map(([term]) => helper.displayWidth(term)),
    );
    const lines = items.map(([term, text]) => helper.formatItem(term, width, text, helper));
    return ['', ...helper.formatItemList(heading, lines, helper)].join('\n').trimEnd();
  };
}

/** A paragraph of a command's help, wrapped to the help's width as commander wraps its own. */
function helpParagraph(text: string) {
  return ({ command }: { command: CommandUnknownOpts }): string => {
    const helper = command.createHelp();
    helper.prepareContext({ helpWidth: command.configureOutput().getOutHelpWidth?.() });
    return `\n${helper.boxWrap(text, helper.helpWidth ?? 80)}`;
  };
}

/**
 * The exit codes of a command that reports a run (`run`, `logs`): the run's end decides 0 or 1, as
 * `RunUnsuccessfulError` does for both. `succeeded` words the 0, `gaveUp` any other way to exit 1.
 */
function runExitCodes(succeeded: string, gaveUp = ''): HelpItems {
  return [
    [String(EXIT.ok), succeeded],
    [
      String(EXIT.failure),
      `it failed, was rejected, was cancelled or timed out (its error on stderr), or the platform refused the request or could not be reached${gaveUp}`,
    ],
    [String(EXIT.usage), 'bad usage or bad local input'],
    [String(EXIT.signedOut), 'not signed in'],
  ];
}

export interface MainOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly output?: Output;
  readonly stdin?: CliContext['stdin'];
}

export function buildProgram(context: CliContext, setExit: (code: number) => void) {
  const example = exampleHost(context.env);
  const program = new Command(commandName(context.env))
    .description('ExecFabric from the command line: sign in, sync scripts and Skills, run them.')
    .version(VERSION, '-v, --version')
    .addOption(new Option('--host <url>', `platform host, e.g. ${example} (or ${ENV_HOST})`))
    .addOption(
      new Option(
        '--no-retry',
        `fail at once when the platform answers 429 or 503 (by default a safe request is retried as its Retry-After says, at most ${RETRY_MAX_ATTEMPTS} attempts, ${RETRY_MAX_WAIT_SECONDS} s a wait, ${RETRY_MAX_TOTAL_WAIT_SECONDS} s in all)`,
      ),
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride()
    .addHelpText(
      'after',
      helpSection('Environment:', [
        [ENV_HOST, 'the host, when --host is not given'],
        [ENV_TOKEN, 'an access token to act with (CI); overrides the stored sign-in'],
        [ENV_RETRY, '0: fail at once on 429 or 503, as --no-retry'],
        ['EXECFABRIC_AGENT_TOKEN', `the agent token of \`${hint('agent', context.env)}\``],
        ['XDG_CONFIG_HOME', `where sign-ins are kept (${configDir(context.env)})`],
      ]),
    )
    .addHelpText(
      'after',
      helpSection('Exit codes:', [
        [String(EXIT.ok), 'success'],
        [String(EXIT.failure), 'failure (refused, unreachable, or a run that did not succeed)'],
        [String(EXIT.usage), 'bad usage or bad local input (arguments, manifest, --input)'],
        [String(EXIT.signedOut), 'not signed in'],
      ]),
    );
  const host = () => program.opts().host;
  /** The global options a command's target takes: `--host`, and `--no-retry` as `retry: false`. */
  const target = () => ({
    ...(host() === undefined ? {} : { host: host() }),
    ...(program.opts().retry ? {} : { retry: false }),
  });
  const withTarget = <T extends object>(options: T) => ({ ...options, ...target() });

  program
    .command('dev')
    .description('run the whole platform on this machine (from a clone of the repository)')
    .option('--port <port>', `port of the platform (default PORT, else ${DEFAULT_LOCAL_PORT})`, port)
    .option('--data-dir <dir>', 'data folder (default .execfabric/ in the clone)')
    .option('--no-build', 'do not rebuild the sites first')
    .action(async (options) => {
      const { dev } = await import('./commands/dev.ts');
      setExit(
        await dev(context, {
          build: options.build,
          ...(options.port === undefined ? {} : { port: options.port }),
          ...(options.dataDir === undefined ? {} : { dataDir: options.dataDir }),
        }),
      );
    });

  program
    .command('login')
    .description('sign in to a host (--host URL) and keep an access token for it')
    .option('-u, --username <name>', 'username (asked when omitted)')
    .option('--password-stdin', 'read the password from standard input')
    .option('--token-name <name>', 'name of the access token (default: "execfabric CLI on <this machine>")')
    .option('--expires-in-days <days>', 'lifetime of the access token', positiveInteger, 90)
    .action(async (options) => {
      const { login } = await import('./commands/auth.ts');
      const named = host() ?? context.env[ENV_HOST];
      if (named === undefined || named === '') {
        throw new UsageError(`login needs the host to sign in to: --host URL (e.g. ${example})`);
      }
      await login(context, {
        ...target(),
        host: named,
        expiresInDays: options.expiresInDays,
        ...(options.username === undefined ? {} : { username: options.username }),
        ...(options.passwordStdin === undefined ? {} : { passwordStdin: options.passwordStdin }),
        ...(options.tokenName === undefined ? {} : { tokenName: options.tokenName }),
      });
    });

  program
    .command('logout')
    .description("revoke this machine's access token for the host and forget it")
    .action(async () => {
      const { logout } = await import('./commands/auth.ts');
      await logout(context, withTarget({}));
    });

  program
    .command('password')
    .description(
      "change your password on the host; it ends your other sessions and access tokens, and the CLI's sign-in goes on with a new token",
    )
    .option('-u, --username <name>', 'whose password (default: the user signed in to the host)')
    .option(
      '--password-stdin',
      'read two lines from standard input: the current password, then the new one (no prompts)',
    )
    .addHelpText(
      'after',
      helpParagraph(
        'On a terminal it asks for the current password, then the new one twice, without echoing them. ' +
          'Passwords are never taken as arguments (ps and the shell history would show them).',
      ),
    )
    .addHelpText(
      'after',
      helpSection('Exit codes:', [
        [String(EXIT.ok), 'the password is changed'],
        [
          String(EXIT.failure),
          'the platform refused it (a wrong current password, the password policy, too many attempts) or could not be reached',
        ],
        [String(EXIT.usage), 'bad usage: the new passwords differ, no terminal without --password-stdin'],
        [String(EXIT.signedOut), 'no host: pass --host or sign in first'],
      ]),
    )
    .action(async (options) => {
      const { password } = await import('./commands/auth.ts');
      await password(
        context,
        withTarget({
          ...(options.username === undefined ? {} : { username: options.username }),
          ...(options.passwordStdin === undefined ? {} : { passwordStdin: options.passwordStdin }),
        }),
      );
    });

  program
    .command('whoami')
    .description('who the stored sign-in (or EXECFABRIC_TOKEN) is, on which host and tenant')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { whoami } = await import('./commands/auth.ts');
      await whoami(context, withTarget(options));
    });

  program
    .command('init')
    .description('create a project: a manifest, a sample script and its schemas')
    .argument('[dir]', 'project folder', '.')
    .option('--force', 'overwrite files that exist')
    .action(async (dir, options) => {
      const { init } = await import('./commands/project.ts');
      init(context, dir, options);
    });

  program
    .command('push')
    .description("make the tenant's scripts and Skills match the project (only what changed)")
    .argument('[dir]', 'project folder', '.')
    .option('--dry-run', 'print the plan as a diff and change nothing')
    .option('--json', 'print the plan (and what was applied) as JSON')
    .action(async (dir, options) => {
      const { push } = await import('./commands/project.ts');
      await push(context, dir, withTarget(options));
    });

  program
    .command('pull')
    .description("write the tenant's scripts and Skills into the project")
    .argument('[dir]', 'project folder', '.')
    .option('--dry-run', 'list the files that would change and write nothing')
    .action(async (dir, options) => {
      const { pull } = await import('./commands/project.ts');
      await pull(context, dir, withTarget(options));
    });

  program
    .command('run')
    .description('run a Skill (by name or id), follow it, print its output')
    .argument('<skill>', 'Skill name or id')
    .option('-i, --input <json>', 'the input: JSON, @file, or @- for standard input (default {})')
    .option('--no-wait', 'print the run id and return at once')
    .option('--timeout <seconds>', 'stop waiting after this long (the run goes on)', positiveInteger)
    .option('--json', 'print the finished run as JSON')
    .addHelpText(
      'after',
      helpSection(
        'Exit codes:',
        runExitCodes('the run succeeded (with --no-wait: it was requested)', ', or --timeout passed first'),
      ),
    )
    .action(async (skill, options) => {
      const { run } = await import('./commands/runs.ts');
      await run(context, skill, withTarget(options));
    });

  program
    .command('logs')
    .description("print a run's logs")
    .argument('<run>', 'run id (ex-…)')
    .option('-f, --follow', 'wait for the run to end, printing logs as they come')
    .option('--json', 'print JSON')
    .addHelpText(
      'after',
      helpSection('Exit codes:', runExitCodes('the run succeeded (or, without --follow, has not ended yet)')),
    )
    .action(async (id, options) => {
      const { logs } = await import('./commands/runs.ts');
      await logs(context, id, withTarget(options));
    });

  program
    .command('skills')
    .description('list the Skills you may see')
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { skills } = await import('./commands/runs.ts');
      await skills(context, withTarget(options));
    });

  program
    .command('runs')
    .description('list runs, newest first')
    .addOption(new Option('--status <status>', 'only runs in this state').choices(EXECUTION_STATUSES))
    .option('--skill <skill>', 'only runs of this Skill (name or id)')
    .option('-n, --limit <count>', 'at most this many', positiveInteger, 20)
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { runs } = await import('./commands/runs.ts');
      await runs(context, withTarget(options));
    });

  program
    .command('approvals')
    .description('list runs waiting for approval, oldest first')
    .option('-n, --limit <count>', 'at most this many', positiveInteger, 50)
    .option('--json', 'print JSON')
    .action(async (options) => {
      const { approvals } = await import('./commands/runs.ts');
      await approvals(context, withTarget(options));
    });

  program
    .command('agent')
    .description("run this machine as a tenant's local agent: it runs the tenant's local-agent Skills")
    .requiredOption('--name <name>', 'the agent, as a tenant admin created it (Agents in the tenant front)')
    .option(
      '--token-file <file>',
      'read the agent token from this file (owner-only) instead of EXECFABRIC_AGENT_TOKEN',
    )
    .option(
      '--python <command>',
      'the Python 3.11+ to run scripts with (default python3, or EXECFABRIC_PYTHON)',
    )
    .action(async (options) => {
      const { runAgent } = await import('./agent.ts');
      setExit(
        await runAgent(context, {
          name: options.name,
          version: VERSION,
          ...(host() === undefined ? {} : { host: host() }),
          ...(options.tokenFile === undefined ? {} : { tokenFile: options.tokenFile }),
          ...(options.python === undefined ? {} : { python: options.python }),
        }),
      );
    });

  for (const decision of ['approve', 'reject'] as const) {
    program
      .command(decision)
      .description(`${decision} a run waiting for approval`)
      .argument('<run>', 'run id (ex-…)')
      .option('-m, --comment <text>', 'a comment kept with the decision')
      .option('--json', 'print the run as JSON')
      .action(async (id, options) => {
        const { decide } = await import('./commands/runs.ts');
        await decide(context, decision, id, withTarget(options));
      });
  }

  return program;
}

/** Runs the CLI on `argv` (as process.argv) and returns the exit code. */
export async function main(argv: readonly string[], options: MainOptions = {}): Promise<number> {
  const output = options.output ?? new Output();
  const env = options.env ?? process.env;
  const context: CliContext = {
    output,
    env,
    store: new ConfigStore(configDir(env)),
    stdin: options.stdin ?? process.stdin,
  };
  let code: number = EXIT.ok;
  const program = buildProgram(context, (value) => {
    code = value;
  });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (error) {
    return report(error, output, env);
  }
}

function report(error: unknown, output: Output, env: NodeJS.ProcessEnv): number {
  if (error instanceof CommanderError) {
    // Commander printed its own message (or the help or version).
    return error.code === 'commander.helpDisplayed' ||
      error.code === 'commander.version' ||
      error.exitCode === 0
      ? EXIT.ok
      : EXIT.usage;
  }
  if (!(error instanceof CliError)) {
    output.info(`${output.style('red', 'error:')} ${(error as Error).message ?? String(error)}`);
    if (process.env.EXECFABRIC_DEBUG !== undefined) output.info((error as Error).stack ?? '');
    return EXIT.failure;
  }
  output.info(`${output.style('red', 'error:')} ${error.message}`);
  for (const line of error.details) output.info(`  ${line}`);
  if (error instanceof ConnectionError && error.localPlatformDown) {
    output.info(`  Is the local platform running? Start it with \`${hint('dev', env)}\` (or \`npm start\`).`);
  }
  if (error instanceof ApiError) {
    for (const line of hints(error, env)) output.info(output.style('dim', `  ${line}`));
  }
  return error.exitCode;
}

function hints(error: ApiError, env: NodeJS.ProcessEnv): string[] {
  const login = hint(`login --host ${error.origin}`, env);
  switch (error.problem) {
    case 'unauthenticated':
      return [
        `${error.origin} refused the access token: it may have been revoked or have expired, been ended by a new password, a disabling or "End all sessions", or it belongs to another host.`,
        `Sign in again with \`${login}\` (or check ${ENV_TOKEN}).`,
      ];
    case 'session-ended':
      // The platform said why (a new password); the detail already printed says so.
      return [`Sign in again with \`${login}\`.`];
    case 'unknown-host':
      return [
        'No ExecFabric domain is bound to that host name: check the URL (each tenant has its own host).',
      ];
    case 'forbidden':
      // Only where the platform names a missing permission: a rule ("nobody approves their own run")
      // is said by the problem itself, and no role would change it.
      return error.permission === null
        ? []
        : [`Your role (or the access token’s scopes) lacks the permission ${error.permission}.`];
    default:
      return [];
  }
}
