// The router after a table delta answers every request as a router built from scratch on the new table: the same
// route and params, the same 404, the same 405 allow list. Seeded random tables (a failure reproduces) that put most
// routes in the any-host bucket and in one big exact-host bucket, with all four path tiers, template groups that share
// their leading static segments and ones that do not (param-first, mixed, greedy, all-static templates), wildcard
// hosts, header matchers for ties; random deltas that remove, change (path, tier, host, methods) and insert routes
// anywhere, across groups. The previous index keeps answering as it did (requests in flight hold it), the sliced
// whole-table build (which pauses inside a big bucket) equals the one built at once, and every tenth step both are
// held to a plain reference matcher (router-reference.ts), so a fault shared by full builds and deltas shows too.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildRouteIndex, buildRouteIndexDelta, buildRouteIndexSliced } from '../../proxy/router/route-index.ts';
import type { Slicer } from '../../proxy/router/host-buckets.ts';
import type { MatchInput, RouteIndex } from '../../proxy/router/route-index-types.ts';
import { ORDER_SPACING } from '../../proxy/router/route-order.ts';
import type { TablePathMatch, TableRoute } from '../../proxy/table/table-schema.ts';
import { request, route } from './router-fixture.ts';
import { referenceMatch, referenceTable } from './router-reference.ts';
import { prng } from '../support/seeded-random.ts';


/** Most routes without hosts or on one big host; a few wildcard, catch-all and multi-host ones. */
const HOSTS: string[][] = [[], [], [], [], ['big.example.com'], ['big.example.com'], ['big.example.com'], ['*.example.com'], ['*.b.example.com'], ['*'], ['big.example.com', 'c.example.com'], ['small.example.com']];
const METHODS = [[], [], ['GET'], ['POST'], ['GET', 'PUT'], ['DELETE']];
/** Keys per tier drawn from ranges this wide: enough distinct keys that the versioned maps get compacted on the way. */
const SPREAD = 300;

/** Templates: shared leads ("/api/users"), no lead ("/{t}/..."), mixed, greedy, all-static, an empty segment. */
function template(rand: () => number): string {
  const n = Math.floor(rand() * SPREAD);
  const shapes = [
    `/g${n}/{id}`,
    `/g${n}/{id}/x`,
    `/g${n % 7}/{id}/{sub}`,
    '/api/users/{id}',
    '/api/users/{id}/posts',
    '/api/users/{id}.json',
    '/api/users/v{n}',
    '/api/users/me',
    '/api/{version}/users',
    '/api/{x}',
    '/{tenant}/users/{id}',
    '/{tenant}/g1/{id}',
    '/{tenant}/users/me/posts',
    // On "/h/i/k/l" the best is in a shorter group than the other match: "/h/{a}/k/l" (group "/h", 3 static) beats
    // "/h/i/{b}/{c}" (group "/h/i", 2 static), and "/{z}/i/k/l" (group "") beats the latter too.
    '/h/{a}/k/l',
    '/h/i/{b}/{c}',
    '/{z}/i/k/l',
    '/files/{path+}',
    '/{all+}',
    '/api/users/{id}/{rest+}',
    '/a//{x}',
    '/',
  ];
  return shapes[Math.floor(rand() * shapes.length)] as string;
}

function randomPath(rand: () => number): TablePathMatch {
  const kind = rand();
  const n = Math.floor(rand() * SPREAD);
  if (kind < 0.3) return { type: 'exact', value: rand() < 0.7 ? `/e/${n}` : ['/api/users', '/api/users/7', '/a//q', '/files/a'][n % 4] as string };
  if (kind < 0.55) return { type: 'prefix', value: rand() < 0.7 ? `/p/${n}/` : ['/api', '/api/users/', '/', '/files'][n % 4] as string };
  if (kind < 0.95) return { type: 'template', value: template(rand) };
  return { type: 'regex', value: ['/api/users/\\d+', '/(?<t>[a-z]+)/x', '/e/.*', '/g1/[0-9]+'][n % 4] as string };
}

function randomRoute(rand: () => number, id: string): TableRoute {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
  return route({
    id,
    hosts: pick(HOSTS),
    path: randomPath(rand),
    methods: pick(METHODS),
    headers: rand() < 0.15 ? [{ name: 'x-k', type: 'exact', value: '1' }] : [],
  });
}

function probePaths(rand: () => number): string[] {
  const n = (): number => Math.floor(rand() * SPREAD);
  const fixed = ['/', '/api', '/api/', '/api/users', '/api/users/', '/api/users/7', '/api/users/me', '/api/users/7/posts', '/api/users/me/posts', '/h/i/k/l', '/h/i/k/m', '/api/users/7.json', '/api/users/v2', '/api/users/7/a/b', '/api/v1/users', '/api/users/%zz', '/api/users/%zz/posts', '/acme/users/9', '/acme/g1/4', '/files/a', '/files/a/b', '/files', '/a//q', '/a/q', '/abc/x', '/nope/z', 'api'];
  const random = Array.from({ length: 12 }, (_, i) => [`/e/${n()}`, `/p/${n()}`, `/p/${n()}/x/y`, `/g${n()}/5`, `/g${n()}/5/x`, `/g${n() % 7}/5/6`][i % 6] as string);
  return [...fixed, ...random];
}

function probes(rand: () => number): MatchInput[] {
  const out: MatchInput[] = [];
  for (const host of ['big.example.com', 'c.example.com', 'q.example.com', 'z.b.example.com', 'other.test']) {
    for (const path of probePaths(rand)) {
      for (const method of ['GET', 'POST', 'PUT']) {
        out.push(request({ host, method, path }));
        if (method === 'GET') out.push(request({ host, method, path, headers: { 'x-k': '1' } }));
      }
    }
  }
  return out;
}

function describe(index: RouteIndex, input: MatchInput): string {
  const m = index.match(input);
  if (m.kind === 'route') return `route ${m.route.id} ${JSON.stringify(m.params)}`;
  if (m.kind === 'method-not-allowed') return `405 ${m.allow.join(',')}`;
  return '404';
}

/** Pauses whenever asked: every slice boundary a build has is taken. */
const everyStep: Slicer = { due: () => true, pause: () => new Promise<void>((resolve) => setImmediate(resolve)) };
const never: Slicer = { due: () => false, pause: async () => {} };

interface Placed {
  route: TableRoute;
  order: number;
}

for (const seed of [1, 2, 3, 4, 5, 6, 7, 8]) {
  test(`a router delta answers as a full build (seed ${seed})`, async () => {
    const rand = prng(seed);
    const table: Placed[] = Array.from({ length: 500 }, (_, i) => ({ route: randomRoute(rand, `r${i}`), order: i * ORDER_SPACING }));
    let index = buildRouteIndex(table.map((p) => p.route));
    let nextId = 500;
    for (let step = 1; step <= 50; step++) {
      const removed: TableRoute[] = [];
      const added: Placed[] = [];
      // A one-route change most of the time; now and then a bigger one, so overlays outgrow and get compacted.
      const size = rand() < 0.8 ? 1 : 100 + Math.floor(rand() * 200);
      // Each route is touched at most once per delta, as the controller's deltas do.
      const touched = new Set<string>();
      for (let k = 0; k < size; k++) {
        const what = rand();
        const at = Math.floor(rand() * table.length);
        const there = table[at];
        if (what < 0.6 && (there === undefined || touched.has(there.route.id))) continue;
        if (what < 0.3 && table.length > 1) {
          table.splice(at, 1);
          removed.push((there as Placed).route);
          touched.add((there as Placed).route.id);
        } else if (what < 0.6) {
          const old = there as Placed;
          const changed = { route: randomRoute(rand, old.route.id), order: old.order };
          removed.push(old.route);
          added.push(changed);
          table[at] = changed;
          touched.add(old.route.id);
        } else {
          const before = at === 0 ? (table[0]?.order ?? 0) - ORDER_SPACING : (table[at - 1] as Placed).order;
          const after = table[at]?.order ?? before + 2 * ORDER_SPACING;
          const placed = { route: randomRoute(rand, `r${nextId++}`), order: (before + after) / 2 };
          table.splice(at, 0, placed);
          added.push(placed);
          touched.add(placed.route.id);
        }
      }
      const inputs = probes(rand);
      const before = inputs.map((input) => describe(index, input));
      const next = await buildRouteIndexDelta(index, removed, added, rand() < 0.5 ? never : everyStep);
      assert.deepEqual(
        inputs.map((input) => describe(index, input)),
        before,
        `step ${step}: the previous index still answers as it did`,
      );
      const full = buildRouteIndex(table.map((p) => p.route));
      // The plain reference is slow: every tenth step.
      const reference = step % 10 === 1 ? referenceTable(table.map((p) => p.route)) : null;
      for (const input of inputs) {
        const what = `step ${step}: ${input.method} ${input.host}${input.path} ${JSON.stringify(input.headers)}`;
        const got = describe(next, input);
        assert.equal(got, describe(full, input), what);
        if (reference !== null) assert.equal(got, referenceMatch(reference, input), `${what} (reference)`);
      }
      index = next;
    }
  });
}

test('the sliced whole-table build pauses inside one big bucket and answers as the one built at once', async () => {
  const rand = prng(42);
  // Every route without hosts: one bucket of 3,000 routes.
  const routes = Array.from({ length: 3000 }, (_, i) => ({ ...randomRoute(rand, `r${i}`), hosts: [] }));
  let pauses = 0;
  let calls = 0;
  const counting: Slicer = {
    due: () => ++calls % 50 === 0,
    pause: () => {
      pauses++;
      return new Promise<void>((resolve) => setImmediate(resolve));
    },
  };
  const sliced = await buildRouteIndexSliced(routes, counting);
  const atOnce = buildRouteIndex(routes);
  // The grouping pass alone pauses ~60 times (3,000 candidates, one check each); the bucket's own build adds more.
  assert.ok(pauses > 3000 / 50 + 10, `paused ${pauses} times`);
  const reference = referenceTable(routes);
  for (const input of probes(rand)) {
    assert.equal(describe(sliced, input), describe(atOnce, input), `${input.method} ${input.host}${input.path}`);
    assert.equal(describe(sliced, input), referenceMatch(reference, input), `${input.method} ${input.host}${input.path} (reference)`);
  }
});
