// The proxy's table file holds the private keys it serves, so it is written with mode 0600 whatever was there before
// (a file left world-readable by an older version, or by hand), and it reads back as the same table.
import assert from 'node:assert/strict';
import { chmod, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { readTableFile, TableFileWriter, writeTableFile } from '../../proxy/subscribe/table-file.ts';
import { routingTableSchema } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { testCertificate } from '../support/test-certificates.ts';

const pair = testCertificate('/CN=api.example.com', ['DNS:api.example.com']);
const tlsTable = (version: string) =>
  routingTableSchema.parse(
    table([route('r', '/r', ['be'], { hosts: ['api.example.com'] })], [backend('be', [1])], version, [], [], {
      certificates: [{ id: 'default/api-cert', certPem: pair.certPem, keyPem: pair.keyPem }],
      tlsHosts: [{ id: 'api.example.com', certificate: 'default/api-cert' }],
    }),
  );

test('written with mode 0600, replacing a world-readable file, and read back as the same table (its key included)', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-table-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'table.json');
  await writeFile(path, '{}');
  await chmod(path, 0o644);

  await writeTableFile(path, tlsTable('v1'));
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  assert.ok((await readFile(path, 'utf8')).includes(JSON.stringify(pair.keyPem)), 'the key is in the file (the proxy serves it after a restart)');
  const loaded = await readTableFile(path);
  assert.ok(loaded.ok);
  assert.deepEqual(loaded.table, tlsTable('v1'));
  assert.deepEqual(await readdir(dir), ['table.json'], 'no temp file left behind');
});

test('each write through TableFileWriter makes a new 0600 file', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-table-file-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const path = join(dir, 'table.json');
  const errors: unknown[] = [];
  const writer = new TableFileWriter(path, (err) => errors.push(err));
  await writer.save(tlsTable('v1'));
  await chmod(path, 0o644);
  await Promise.all([writer.save(tlsTable('v2')), writer.save(tlsTable('v3'))]);
  await writer.idle();
  assert.deepEqual(errors, []);
  assert.equal((await stat(path)).mode & 0o777, 0o600);
  const loaded = await readTableFile(path);
  assert.ok(loaded.ok);
  assert.equal(loaded.table.version, 'v3');
});
