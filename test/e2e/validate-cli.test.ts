// `gatehouse validate` as a user runs it: real files, the real CLI, exit codes and the printed conditions.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runCli } from '../support/gatehouse-process.ts';

const EXAMPLES = fileURLToPath(new URL('../../examples', import.meta.url));

test('the examples validate cleanly', async () => {
  const r = await runCli(['validate', EXAMPLES]);
  assert.equal(r.code, 0, r.stdout + r.stderr);
  assert.match(r.stdout, /✓ .*ApiRoute default\/petstore/);
  assert.match(r.stdout, /Accepted=True/);
  assert.match(r.stdout, /0 with problems/);
});

test('an invalid resource exits 1 and names the file, the resource and the field', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-validate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(
    join(dir, 'bad.yaml'),
    `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: bad }
spec:
  basePath: v1/
  rules:
    - backends: [{ url: "http://127.0.0.1:1" }]
---
apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: good }
spec:
  rules:
    - backends: [{ url: "http://127.0.0.1:1" }]
`,
  );
  const r = await runCli(['validate', dir]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /✗ bad\.yaml:\d+ ApiRoute default\/bad|✗ .*bad\.yaml:\d+ ApiRoute default\/bad/);
  assert.match(r.stdout, /spec\.basePath/);
  assert.match(r.stdout, /✓ .*ApiRoute default\/good/);
});

test('a YAML syntax error exits 1 with file and line', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-validate-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  await writeFile(join(dir, 'broken.yaml'), 'kind: ApiRoute\nmetadata: [\n');
  const r = await runCli(['validate', join(dir, 'broken.yaml')]);
  assert.equal(r.code, 1);
  assert.match(r.stdout, /broken\.yaml:\d+:\d+: YAML syntax error/);
});

test('no arguments is a usage error', async () => {
  const r = await runCli(['validate']);
  assert.equal(r.code, 2);
  assert.match(r.stdout, /usage/);
});
