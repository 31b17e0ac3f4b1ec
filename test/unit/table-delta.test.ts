// The controller's table delta against a plain reference (every item diffed by id, the delta replayed over the whole
// base), on random edits where unchanged routes are the same objects from table to table, as the compile cache hands
// them on: removals, in-place changes, insertions anywhere (runs of them, at either end), and moves of an unchanged
// route (which a delta cannot express: both must say null).
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { tableDelta } from '../../controller/distribute/table-delta.ts';
import { applyListDelta, type ListDelta } from '../../proxy/table/list-delta.ts';
import { routingTableSchema, type RoutingTable, type TableRoute } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';

function prng(seed: number): () => number {
  let s = seed;
  return () => ((s = (s * 16807) % 2147483647) / 2147483647);
}

const made = (id: string, path: string): TableRoute => routingTableSchema.shape.routes.element.parse(route(id, path, ['be']));
const tableOf = (routes: TableRoute[], version: string): RoutingTable => ({ ...routingTableSchema.parse(table([], [backend('be', [9])], version)), routes });

/** The delta without any shortcut: every base id mapped, every next item looked up, the result replayed whole. */
function reference(base: readonly TableRoute[], next: readonly TableRoute[], limit: number): ListDelta<TableRoute> | null {
  const before = new Map(base.map((r) => [r.id, r]));
  const present = new Set(next.map((r) => r.id));
  const changed: TableRoute[] = [];
  const added: Array<{ after: string | null; item: TableRoute }> = [];
  let previous: string | null = null;
  for (const r of next) {
    const old = before.get(r.id);
    if (old === undefined) added.push({ after: previous, item: r });
    else if (JSON.stringify(old) !== JSON.stringify(r)) changed.push(r);
    if (changed.length + added.length > limit) return null;
    previous = r.id;
  }
  const delta = { removed: base.filter((r) => !present.has(r.id)).map((r) => r.id), changed, added };
  const rebuilt = applyListDelta(base, delta, 'route');
  if (!rebuilt.ok || rebuilt.items.map((r) => r.id).join() !== next.map((r) => r.id).join()) return null;
  return delta;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`table deltas match the reference on random edits of shared route objects (seed ${seed})`, () => {
    const rand = prng(seed);
    let routes = Array.from({ length: 300 }, (_, i) => made(`r${i}`, `/r${i}`));
    let current = tableOf(routes, 'v0');
    let nextId = 300;
    let nulls = 0;
    for (let step = 1; step <= 200; step++) {
      const edit = rand();
      routes = [...routes];
      const at = (): number => Math.floor(rand() * routes.length);
      if (edit < 0.2) routes.splice(at(), 1 + Math.floor(rand() * 3));
      else if (edit < 0.4) {
        const i = at();
        routes[i] = made((routes[i] as TableRoute).id, `/changed${step}`);
      }
      else if (edit < 0.6) routes.splice(rand() < 0.2 ? 0 : rand() < 0.25 ? routes.length : at(), 0, ...Array.from({ length: 1 + Math.floor(rand() * 4) }, () => made(`r${nextId}`, `/r${nextId++}`)));
      else if (edit < 0.7) {
        const [moved] = routes.splice(at(), 1);
        routes.splice(at(), 0, moved as TableRoute); // the same object elsewhere (or, by chance, where it was)
      } else if (edit < 0.8) routes[at()] = made(`r${nextId}`, `/r${nextId++}`); // one removed, another added there
      else if (edit < 0.9) {
        const i = at();
        routes[i] = { ...(routes[i] as TableRoute) }; // a new object with the same content: no change
      } else {
        routes.splice(0, 1);
        routes.push(made(`r${nextId}`, `/r${nextId++}`));
      }
      const next = tableOf(routes, `v${step}`);
      const delta = tableDelta(current, next);
      const expected = reference(current.routes, next.routes, 500);
      assert.deepEqual(delta?.routes ?? null, expected, `step ${step}`);
      if (delta === null) nulls++;
      else {
        const rebuilt = applyListDelta(current.routes, delta.routes, 'route');
        assert.ok(rebuilt.ok);
        assert.equal(JSON.stringify(rebuilt.items), JSON.stringify(next.routes), `step ${step}: the delta rebuilds the next table`);
      }
      current = next;
    }
    assert.ok(nulls < 200);
  });
}

test('more changes than a delta carries: null (the whole table goes out)', () => {
  const routes = Array.from({ length: 1200 }, (_, i) => made(`r${i}`, `/r${i}`));
  const base = tableOf(routes, 'a');
  const next = tableOf(routes.map((r, i) => (i >= 100 && i < 700 ? made(r.id, `/other${i}`) : r)), 'b');
  assert.equal(tableDelta(base, next), null);
  const few = tableOf(routes.map((r, i) => (i === 600 ? made(r.id, '/one') : r)), 'c');
  assert.deepEqual(tableDelta(base, few)?.routes, { removed: [], changed: [few.routes[600]], added: [] });
});
