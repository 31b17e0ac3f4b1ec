// Every command answers --help (and -h) with its usage and exit 0, listing every flag of its definition (the test
// iterates the definitions, so it cannot drift from them); the top-level usage names every command; an unknown flag
// is named, with the command's usage and exit 2; a bad value is refused with one line naming the flag.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { COMMANDS, CONTROLLER } from '../../cli/commands/command-flags.ts';
import { commandSynopsis } from '../../cli/commands/flag-definitions.ts';
import { DEFAULT_CONFIGMAP_SELECTOR, DEFAULT_SECRET_SELECTOR } from '../../controller/sources/kube-source.ts';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));
const run = promisify(execFile);

/** Exit code, stdout and stderr of the CLI, whatever the exit code. */
async function gatehouse(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  return run(process.execPath, [CLI, ...args], { timeout: 20_000, env: { ...process.env, ...env } }).then(
    ({ stdout, stderr }) => ({ code: 0, stdout, stderr }),
    (err: { code: number; stdout: string; stderr: string }) => ({ code: err.code, stdout: err.stdout, stderr: err.stderr }),
  );
}

const escape = (text: string): string => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

test('every command answers --help and -h with its usage, listing every flag of its definition, and exit 0', async () => {
  await Promise.all(
    COMMANDS.flatMap((command) =>
      ['--help', '-h'].map(async (help) => {
        const r = await gatehouse([command.name, help]);
        assert.equal(r.code, 0, `${command.name} ${help}: ${r.stderr}`);
        assert.match(r.stdout, new RegExp(`^usage: gatehouse ${escape(commandSynopsis(command))}\n`), `${command.name} ${help}`);
        assert.match(r.stdout, new RegExp(`^ {2}${command.name} `, 'm'), `${command.name} ${help}: the purpose line`);
        for (const [name, flag] of Object.entries(command.flags)) {
          const shown = 'value' in flag ? `--${name} ${flag.value}` : `--${name}`;
          const line = r.stdout.split('\n').find((l) => new RegExp(`^ +(?:-[a-z], )?${escape(shown)}  `).test(l));
          assert.ok(line !== undefined, `${command.name} ${help}: ${shown} is not listed:\n${r.stdout}`);
          assert.ok(line.includes(flag.description), `${command.name}: --${name} has its description`);
          if ('default' in flag && flag.default !== undefined) assert.ok(line.includes(`default: ${flag.default}`), `${command.name}: --${name} shows its default`);
        }
      }),
    ),
  );
});

test('the top-level usage names every command with its synopsis and purpose', async () => {
  for (const args of [['--help'], ['help'], ['-h']]) {
    const r = await gatehouse(args);
    assert.equal(r.code, 0, args.join(' '));
    for (const command of COMMANDS) {
      assert.ok(r.stdout.includes(`\n  ${commandSynopsis(command)}\n      ${command.purpose}\n`), `${command.name} is in \`gatehouse ${args.join(' ')}\`:\n${r.stdout}`);
    }
  }
  const bare = await gatehouse([]);
  assert.equal(bare.code, 2, 'no command is a usage error');
  assert.match(bare.stdout, /usage: gatehouse <command>/);
});

test('an unknown flag is named, with the command usage and exit 2', async () => {
  await Promise.all(
    COMMANDS.map(async (command) => {
      const r = await gatehouse([command.name, '--no-such-flag', 'x']);
      assert.equal(r.code, 2, `${command.name}: ${r.stderr}`);
      assert.match(r.stderr, new RegExp(`^gatehouse ${command.name}: unknown flag --no-such-flag\n\nusage: gatehouse ${escape(commandSynopsis(command))}\n`), command.name);
    }),
  );
});

test('a missing required flag is named, with exit 2', async () => {
  const r = await gatehouse(['proxy', '--token-file', 'token']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /^gatehouse proxy: --controller ws\(s\):\/\/HOST:PORT is required\n/);
});

test('a Redis flag that is wrong is named, with exit 2', async () => {
  const r = await gatehouse(['standalone', '--config', '.', '--redis-url', 'http://127.0.0.1:6379']);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--redis-url: must be a redis:\/\/ or rediss:\/\/ URL/);
});

test('a log level that pino does not know is named, from the flag or from $LOG_LEVEL, with exit 2 (no process starts)', async () => {
  const flag = await gatehouse(['standalone', '--config', '.', '--log-level', 'verbose']);
  assert.equal(flag.code, 2);
  assert.match(flag.stderr, /--log-level: must be one of fatal, error, warn, info, debug, trace, silent/);
  for (const command of [['standalone', '--config', '.'], ['proxy', '--controller', 'ws://127.0.0.1:1', '--token-file', CLI], ['controller']]) {
    const env = await gatehouse(command, { LOG_LEVEL: 'verbose' });
    assert.equal(env.code, 2, `${command[0]}: ${env.stderr}`);
    assert.equal(env.stderr, `gatehouse ${command[0]}: LOG_LEVEL "verbose" must be one of fatal, error, warn, info, debug, trace, silent\n`);
  }
});

test("the controller's --secret-selector default is the kube source's", () => {
  assert.equal(CONTROLLER.flags['secret-selector'].default, DEFAULT_SECRET_SELECTOR);
  assert.equal(CONTROLLER.flags['configmap-selector'].default, DEFAULT_CONFIGMAP_SELECTOR);
});
