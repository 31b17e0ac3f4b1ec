// Golden-file tests of the compiler, the way Envoy Gateway tests its translator:
// test/golden/compile/<case>/in.yaml → out.json (table + statuses). `UPDATE_GOLDEN=1` rewrites the out.json files;
// review every diff by eye before committing.
import { strict as assert } from 'node:assert';
import { readdirSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { compile } from '../../controller/compile/compile.ts';
import { CompileCache } from '../../controller/compile/compile-cache.ts';
import { routingTableSchema } from '../../proxy/table/table-schema.ts';
import { goldenJson } from '../golden/golden-json.ts';
import { loadCase } from '../golden/compile-case.ts';

const ROOT = join(import.meta.dirname, '..', 'golden', 'compile');
const update = process.env['UPDATE_GOLDEN'] === '1';

for (const name of readdirSync(ROOT).sort()) {
  test(`golden compile: ${name}`, () => {
    const dir = join(ROOT, name);
    const input = loadCase(dir);
    const out = compile(input);
    // The proxy must accept what the compiler produces.
    routingTableSchema.parse(out.table);
    const actual = goldenJson({ table: out.table, statuses: out.statuses });

    // Order of the input never matters.
    const reversed = compile({ ...input, resources: [...input.resources].reverse(), services: [...(input.services ?? [])].reverse(), endpointSlices: [...(input.endpointSlices ?? [])].reverse() });
    assert.equal(goldenJson({ table: reversed.table, statuses: reversed.statuses }), actual);
    // Nor does the controller's incremental compile: the same bytes, cold and warm.
    const cache = new CompileCache();
    for (const run of ['cold', 'warm']) {
      const cached = compile({ ...input, cache });
      assert.equal(goldenJson({ table: cached.table, statuses: cached.statuses }), actual, `${run} compile with a CompileCache`);
    }

    const file = join(dir, 'out.json');
    if (update) {
      writeFileSync(file, actual);
      return;
    }
    assert.ok(existsSync(file), `${name}/out.json is missing; run with UPDATE_GOLDEN=1 and review it`);
    assert.equal(actual, readFileSync(file, 'utf8'), `${name}/out.json is stale; rerun with UPDATE_GOLDEN=1 and review the diff`);
  });
}
