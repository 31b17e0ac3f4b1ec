// The span-export flags of `proxy` and `standalone`: what --otlp-endpoint accepts, the headers file's format, and that
// a problem with the headers file names the line, never its text (it holds a secret).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { z } from 'zod';
import { otlpFlagsShape, otlpOptions, parseHeaderLines } from '../../cli/commands/otlp-flags.ts';

const flags = z.object(otlpFlagsShape);
const identity = { version: '1.2.3', instance: 'proxy-a' };

test('--otlp-endpoint: an http(s) traces URL without credentials; --otlp-sample 0 to 1, default 1', () => {
  assert.equal(flags.parse({ 'otlp-endpoint': 'http://collector:4318/v1/traces' })['otlp-sample'], 1);
  assert.equal(flags.parse({ 'otlp-endpoint': 'https://otlp.example.com/v1/traces', 'otlp-sample': '0.25' })['otlp-sample'], 0.25);
  assert.deepEqual(flags.parse({}), { 'otlp-sample': 1 });
  const refused = (values: Record<string, string>): string => {
    const r = flags.safeParse(values);
    assert.equal(r.success, false, JSON.stringify(values));
    return r.error?.issues.map((i) => i.message).join('; ') ?? '';
  };
  assert.match(refused({ 'otlp-endpoint': 'grpc://collector:4317' }), /http:\/\/ or https:\/\//);
  assert.match(refused({ 'otlp-endpoint': 'http://user:secret@collector:4318/v1/traces' }), /must not hold credentials/);
  assert.match(refused({ 'otlp-endpoint': 'http://collector:4318' }), /the traces URL, path included/);
  assert.match(refused({ 'otlp-sample': '1.5' }), /<=1/);
  assert.match(refused({ 'otlp-sample': '-0.1' }), />=0/);
});

test('the headers file: "Name: value" lines, comments and blank lines skipped, names lower-cased', () => {
  assert.deepEqual(parseHeaderLines('# token\n\nAuthorization: Bearer abc:def\r\nX-Scope-OrgID:  tenant-1  \n'), { authorization: 'Bearer abc:def', 'x-scope-orgid': 'tenant-1' });
  assert.equal(parseHeaderLines('# nothing\n\n'), 'no "Name: value" line');
  const secret = 'hunter2-secret';
  for (const bad of [`Authorization ${secret}`, `Bad Name: ${secret}`, 'Authorization:', `: ${secret}`, `X-Token: ${secret}\u0007`]) {
    const problem = parseHeaderLines(`# first\n${bad}\n`);
    assert.equal(problem, 'line 2 is not "Name: value"', JSON.stringify(bad));
  }
});

test('otlpOptions: off without an endpoint; the headers file read, or a one-line error that never quotes it', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-otlp-flags-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const good = join(dir, 'good');
  const bad = join(dir, 'bad');
  await writeFile(good, 'Authorization: Bearer tok-123\n');
  await writeFile(bad, 'Authorization Bearer tok-456\n');
  const endpoint = 'http://collector:4318/v1/traces';

  assert.deepEqual(await otlpOptions(flags.parse({}), identity), {});
  assert.equal(await otlpOptions(flags.parse({ 'otlp-headers-file': good }), identity), '--otlp-headers-file needs --otlp-endpoint');
  assert.deepEqual(await otlpOptions(flags.parse({ 'otlp-endpoint': endpoint, 'otlp-sample': '0.5', 'otlp-headers-file': good }), identity), {
    tracing: { endpoint, sample: 0.5, serviceVersion: '1.2.3', serviceInstanceId: 'proxy-a', headers: { authorization: 'Bearer tok-123' } },
  });
  const unreadable = await otlpOptions(flags.parse({ 'otlp-endpoint': endpoint, 'otlp-headers-file': join(dir, 'missing') }), identity);
  assert.equal(unreadable, `--otlp-headers-file: cannot read ${join(dir, 'missing')}: ENOENT`);
  const malformed = await otlpOptions(flags.parse({ 'otlp-endpoint': endpoint, 'otlp-headers-file': bad }), identity);
  assert.equal(malformed, `--otlp-headers-file ${bad}: line 1 is not "Name: value"`);
});
