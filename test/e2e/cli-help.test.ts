// Every command answers --help with its usage and exit 0 (before parsing its own flags); a bad Redis flag is refused
// with one line naming it.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const CLI = fileURLToPath(new URL('../../cli/gatehouse.ts', import.meta.url));
const run = promisify(execFile);

test('every command answers --help with the usage and exit 0', async () => {
  for (const command of ['standalone', 'validate', 'controller', 'proxy', 'version']) {
    const { stdout } = await run(process.execPath, [CLI, command, '--help'], { timeout: 20_000 });
    assert.match(stdout, /usage: gatehouse <command>/, command);
    assert.match(stdout, /--redis-url/, `${command}: the Redis flags are listed`);
  }
});

test('a Redis flag that is wrong is named, with exit 2', async () => {
  const failed = await run(process.execPath, [CLI, 'standalone', '--config', '.', '--redis-url', 'http://127.0.0.1:6379'], { timeout: 20_000 }).then(
    () => null,
    (err: { code: number; stderr: string }) => err,
  );
  assert.ok(failed !== null, 'refused');
  assert.equal(failed.code, 2);
  assert.match(failed.stderr, /--redis-url: must be a redis:\/\/ or rediss:\/\/ URL/);
});
