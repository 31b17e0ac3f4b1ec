// The table file's compaction from the JavaScript the image runs (tsconfig.build.json): the compactor starts its
// worker thread from a file URL, which tsc does not rewrite, so this runs the emitted table-file.js in a child Node
// with type stripping off. A worker URL still naming a .ts file fails there (ERR_UNKNOWN_FILE_EXTENSION) instead of
// quietly loading the type stripper in the image. The child writes v0 and 12 deltas with a compaction due every 5
// records; this process loads the result with the source loader.
import { strict as assert } from 'node:assert';
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { loadTableFile } from '../../proxy/subscribe/table-file.ts';
import { routingTableSchema, type RoutingTable } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';
import { buildCompiled } from '../support/compiled-build.ts';

/** v0 with 40 routes, then v1..v12: each adds one. */
function versions(): RoutingTable[] {
  return Array.from({ length: 13 }, (_, k) =>
    routingTableSchema.parse(table(Array.from({ length: 40 + k }, (_, i) => route(`r${i}`, `/r${i}`, ['be'], { hosts: [`h${i % 7}.example.com`] })), [backend('be', [9])], `v${k}`)),
  );
}

// Runs in the child against the emitted files: argv = [build dir, tables JSON, table file path]. A file, not
// --eval: the worker thread inherits the child's execArgv, and --input-type is refused there.
const CHILD = `
const [dir, tablesPath, path] = process.argv.slice(2);
const { readFileSync } = await import('node:fs');
const { TableFile } = await import(dir + '/proxy/subscribe/table-file.js');
const { tableDelta } = await import(dir + '/controller/distribute/table-delta.js');
const tables = JSON.parse(readFileSync(tablesPath, 'utf8'));
const errors = [];
const file = new TableFile(path, { onError: (err) => errors.push(String(err)), compactAfterRecords: 5 });
await file.recordTable(tables[0]);
for (let k = 1; k < tables.length; k++) {
  await file.recordChange(tableDelta(tables[k - 1], tables[k]), () => { throw new Error('needs the whole table'); });
  await file.idle();
}
await file.close();
process.stdout.write(JSON.stringify({ compactions: file.compactions, errors }));
`;

test('the compiled table file compacts in its worker thread with type stripping off', async (t) => {
  const build = await buildCompiled();
  t.after(build.remove);
  t.diagnostic(`tsc emit (--noCheck) ${build.emitMs} ms`);
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-table-file-compiled-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  const tables = versions();
  const tablesPath = join(dir, 'tables.json');
  await writeFile(tablesPath, JSON.stringify(tables));
  const path = join(dir, 'table.json');
  const child = join(dir, 'write-table-file.mjs');
  await writeFile(child, CHILD);

  const out = await new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, ['--no-experimental-strip-types', child, build.dir, tablesPath, path], { cwd: build.dir, timeout: 60_000 }, (err, stdout, stderr) =>
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : 1, stdout, stderr }),
    );
  });
  assert.equal(out.code, 0, out.stderr);
  const result = JSON.parse(out.stdout) as { compactions: number; errors: string[] };
  assert.deepEqual(result.errors, []);
  assert.ok(result.compactions >= 2, `compactions: ${result.compactions}`);

  const loaded = await loadTableFile(path);
  assert.ok(loaded.ok, loaded.ok ? '' : loaded.error);
  assert.equal(JSON.stringify(routingTableSchema.parse(loaded.table)), JSON.stringify(tables[12]));
  assert.ok(loaded.replay.applied <= 4, `the journal holds only what came after the last compaction (${loaded.replay.applied} records)`);
});
