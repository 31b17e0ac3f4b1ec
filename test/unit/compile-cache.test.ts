// The compile cache must never change what compile returns: the same bytes with or without it, across a
// sequence of snapshots where routes, Services and EndpointSlices change, break and come back.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { compile } from '../../controller/compile/compile.ts';
import { CompileCache } from '../../controller/compile/compile-cache.ts';
import type { CompileInput, EndpointSliceInfo, RawResource, ServiceInfo } from '../../controller/compile/compile-types.ts';
import { stableJson } from '../../controller/compile/stable-json.ts';
import { benchApiRoute } from '../../bench/controller-fixtures.ts';

function route(i: number, marker: string, generation: number, extra?: (spec: Record<string, unknown>) => void): RawResource {
  const object = benchApiRoute(i, marker) as { metadata: Record<string, unknown>; spec: Record<string, unknown> };
  object.metadata = { ...object.metadata, generation, creationTimestamp: `2026-01-01T00:00:${String(i % 60).padStart(2, '0')}Z` };
  extra?.(object.spec);
  return { kind: 'ApiRoute', namespace: 'bench', name: `route-${i}`, object };
}

const service = (port: number): ServiceInfo => ({ namespace: 'bench', name: 'bench-backend', ports: [{ name: 'http', port, targetPort: 8080 }] });
const slice = (addresses: string[], ready = true): EndpointSliceInfo => ({
  namespace: 'bench',
  serviceName: 'bench-backend',
  ports: [{ name: 'http', port: 8080 }],
  endpoints: addresses.map((a) => ({ addresses: [a], ready })),
});

/** Compiles each snapshot with one cache and without, feeding each its own accepted objects; asserts equal output. */
function sameWithAndWithoutCache(snapshots: ReadonlyArray<Omit<CompileInput, 'lastAccepted' | 'cache'>>): CompileCache {
  const cache = new CompileCache();
  let cachedAccepted: Map<string, unknown> | undefined;
  let plainAccepted: Map<string, unknown> | undefined;
  snapshots.forEach((snapshot, n) => {
    const cached = compile({ ...snapshot, lastAccepted: cachedAccepted, cache });
    const plain = compile({ ...snapshot, lastAccepted: plainAccepted });
    cachedAccepted = cached.accepted;
    plainAccepted = plain.accepted;
    assert.equal(stableJson(cached.table), stableJson(plain.table), `table of snapshot ${n}`);
    assert.equal(stableJson(cached.statuses), stableJson(plain.statuses), `statuses of snapshot ${n}`);
    assert.equal(stableJson(cached.accepted), stableJson(plain.accepted), `accepted of snapshot ${n}`);
  });
  return cache;
}

test('compile with a cache gives the same table, statuses and accepted objects as without, snapshot after snapshot', () => {
  const routes = Array.from({ length: 30 }, (_, i) => route(i, 'v0', 1));
  const svc = service(80);
  const sl = slice(['10.0.0.1']);
  const snapshots: Omit<CompileInput, 'lastAccepted' | 'cache'>[] = [];
  snapshots.push({ resources: [...routes], services: [svc], endpointSlices: [sl] });
  snapshots.push({ resources: [...routes], services: [svc], endpointSlices: [sl] }); // nothing changed
  routes[3] = route(3, 'v1', 2);
  snapshots.push({ resources: [...routes], services: [svc], endpointSlices: [sl] }); // one route updated
  snapshots.push({ resources: [...routes], services: [svc], endpointSlices: [slice(['10.0.0.1', '10.0.0.2'])] }); // endpoints changed
  snapshots.push({ resources: [...routes], services: [svc], endpointSlices: [slice(['10.0.0.1'], false)] }); // none ready
  snapshots.push({ resources: [...routes], services: [], endpointSlices: [] }); // Service gone
  routes[4] = route(4, 'v1', 2, (spec) => ((spec['rules'] as { matches: { path: { type: string; value: string } }[] }[])[0]!.matches[0]!.path = { type: 'Regex', value: '([' }));
  snapshots.push({ resources: [...routes], services: [service(80)], endpointSlices: [sl] }); // invalid update keeps its last good version
  routes[5] = route(4, 'v2', 1); // a conflicting duplicate of route-4's hosts under route-5's slot
  routes[5] = { ...routes[5], name: 'route-5', object: { ...(routes[5].object as object), metadata: { name: 'route-5', namespace: 'bench', generation: 3 } } };
  snapshots.push({ resources: [...routes], services: [service(80)], endpointSlices: [sl] });
  routes.splice(10, 5);
  snapshots.push({ resources: [...routes], services: [service(80)], endpointSlices: [sl] }); // deletions

  const cache = sameWithAndWithoutCache(snapshots);
  assert.ok(cache.stats.routeHits > 0 && cache.stats.validationHits > 0, JSON.stringify(cache.stats));
});

test('a key listed twice (two objects, or the same object twice) is judged as one invalid resource with the cache too', () => {
  const routes = Array.from({ length: 12 }, (_, i) => route(i, 'v0', 1));
  const svc = service(80);
  const sl = slice(['10.0.0.1']);
  const input = (resources: RawResource[]): Omit<CompileInput, 'lastAccepted' | 'cache'> => ({ resources, services: [svc], endpointSlices: [sl] });
  const other = route(3, 'other', 5);
  const fresh = route(20, 'v0', 1);
  sameWithAndWithoutCache([
    input([...routes]),
    input([...routes, other]), // route-3 listed twice, the second a different object
    input([...routes]), // back to once
    input([...routes, routes[7] as RawResource]), // the same object twice
    input([fresh, ...routes, fresh, other]), // a new key listed twice, and route-3 again
    input([...routes, fresh]),
  ]);
});

test('the checkpointed table hash equals the plain one when routes change early, late, are added and removed', () => {
  // 400 ApiRoutes × 3 = 1,200 table routes: several hash chunks.
  const routes = Array.from({ length: 400 }, (_, i) => route(i, 'v0', 1));
  const inputs = (): Omit<CompileInput, 'lastAccepted' | 'cache'> => ({ resources: [...routes], services: [service(80)], endpointSlices: [slice(['10.0.0.1'])] });
  const steps: (() => void)[] = [
    () => {},
    () => (routes[300] = route(300, 'v1', 2)), // late
    () => (routes[2] = route(2, 'v1', 2)), // early
    () => routes.push(route(400, 'v0', 1)), // new (sorts by its timestamp)
    () => routes.splice(100, 1), // removed
    () => routes.splice(0, 200), // half gone
    () => {},
  ];
  const cache = new CompileCache();
  let cachedAccepted: Map<string, unknown> | undefined;
  steps.forEach((step, n) => {
    step();
    const snapshot = inputs();
    const cached = compile({ ...snapshot, lastAccepted: cachedAccepted, cache });
    cachedAccepted = cached.accepted;
    const plain = compile({ ...snapshot });
    assert.equal(cached.table.version, plain.table.version, `version after step ${n}`);
    assert.equal(stableJson(cached.table), stableJson(plain.table), `table after step ${n}`);
  });
});

test('incremental conflict resolution matches the plain compile through random creates, updates and deletes', () => {
  // Few hosts and paths, so routes keep winning and losing claims to each other (chains of flips included).
  let seed = 7;
  const rand = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const conflicting = (i: number, v: number): RawResource => {
    const object = {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'ApiRoute',
      metadata: { name: `r-${i}`, namespace: 'bench', generation: v, creationTimestamp: `2026-01-01T00:00:${String(rand(4)).padStart(2, '0')}Z` },
      spec: {
        hosts: [`h${rand(3)}.example.com`, ...(rand(2) === 0 ? [`h${rand(3)}.example.com`] : [])],
        rules: [0, 1].map((k) => ({
          matches: [{ path: { type: 'Prefix', value: `/p${rand(2)}` }, ...(rand(3) === 0 ? { methods: [['GET', 'HEAD', 'POST'][rand(3)]] } : {}) }],
          backends: [{ url: `http://b${k}.internal` }],
        })),
      },
    };
    return { kind: 'ApiRoute', namespace: 'bench', name: `r-${i}`, object };
  };
  const routes = new Map<number, RawResource>();
  const cache = new CompileCache();
  let cachedAccepted: Map<string, unknown> | undefined;
  for (let step = 0; step < 150; step++) {
    const i = rand(12);
    if (routes.has(i) && rand(3) === 0) routes.delete(i);
    else routes.set(i, conflicting(i, step + 1));
    const snapshot = { resources: [...routes.values()] };
    const plain = compile({ ...snapshot, lastAccepted: cachedAccepted });
    const cached = compile({ ...snapshot, lastAccepted: cachedAccepted, cache });
    cachedAccepted = cached.accepted;
    assert.equal(stableJson(cached.table), stableJson(plain.table), `table after step ${step}`);
    assert.equal(stableJson(cached.statuses), stableJson(plain.statuses), `statuses after step ${step}`);
  }
});

test('with a cache, Authorizers follow their Secrets, their use by routes and their own updates as the plain compile does', () => {
  const authorizer = (name: string, spec: unknown): RawResource => ({
    kind: 'Authorizer',
    namespace: 'bench',
    name,
    object: { apiVersion: 'gatehouse.dev/v1alpha1', kind: 'Authorizer', metadata: { name, namespace: 'bench' }, spec },
  });
  const keys = authorizer('keys', { type: 'APIKey', apiKey: { secretSelector: { matchLabels: { team: 'a' } } } });
  const jwt = authorizer('idp', { type: 'JWT', jwt: { issuer: 'https://i', audiences: ['api'], jwks: { secretRef: { name: 'jwks', key: 'jwks.json' } } } });
  const secret = (name: string, data: Record<string, string>, labels: Record<string, string> = { team: 'a' }) => ({ namespace: 'bench', name, labels, data });
  const jwks = (x: string) => secret('jwks', { 'jwks.json': JSON.stringify({ keys: [{ kty: 'OKP', crv: 'Ed25519', x }] }) }, {});
  const uses = (i: number, name: string): RawResource => route(i, 'auth', 1, (spec) => (spec['authorizer'] = { name }));
  const plainRoutes = Array.from({ length: 4 }, (_, i) => route(i, 'v0', 1));
  const alice = secret('alice', { consumer: 'alice', key: 'k-alice-1' });
  const bob = secret('bob', { consumer: 'bob', key: 'k-bob-1' });
  const snapshots: Omit<CompileInput, 'lastAccepted' | 'cache'>[] = [
    { resources: [...plainRoutes, keys, jwt], secrets: [alice] }, // not used by any route: out of the table
    { resources: [...plainRoutes, uses(4, 'keys'), keys, jwt], secrets: [alice] },
    { resources: [...plainRoutes, uses(4, 'keys'), keys, jwt], secrets: [alice, bob] }, // a Secret added
    { resources: [...plainRoutes, uses(4, 'keys'), keys, jwt], secrets: [bob] }, // a Secret deleted
    { resources: [...plainRoutes, uses(4, 'keys'), keys, jwt], secrets: [] }, // none left: reported, every key refused
    { resources: [...plainRoutes, uses(4, 'keys'), uses(5, 'idp'), keys, jwt], secrets: [bob] }, // JWKS Secret missing
    { resources: [...plainRoutes, uses(4, 'keys'), uses(5, 'idp'), keys, jwt], secrets: [bob, jwks('11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo')] },
    { resources: [...plainRoutes, uses(4, 'keys'), uses(5, 'idp'), keys, jwt], secrets: [bob, jwks('not-a-key')] }, // unusable keys
    { resources: [...plainRoutes, uses(5, 'idp'), keys], secrets: [bob] }, // the JWT Authorizer deleted, its route fails closed
  ];
  sameWithAndWithoutCache(snapshots);
});

test('with a cache, RatePolicies follow their use by routes (ApiRoute and rule lists), their updates and their deletion as the plain compile does', () => {
  const policy = (name: string, rate: number, generation = 1): RawResource => ({
    kind: 'RatePolicy',
    namespace: 'bench',
    name,
    object: {
      apiVersion: 'gatehouse.dev/v1alpha1',
      kind: 'RatePolicy',
      metadata: { name, namespace: 'bench', generation },
      spec: { limits: [{ name: 'per-ip', key: [{ type: 'ClientIP' }], tokenBucket: { rate } }], plans: [{ name: 'gold', limits: [{ name: 'daily', key: [{ type: 'Consumer' }], quota: { limit: rate * 100, period: 'Day' } }] }] },
    },
  });
  const invalid: RawResource = { ...policy('slow', 1, 3), object: { ...(policy('slow', 1, 3).object as object), spec: { limits: [] } } };
  const onApi = (i: number, names: string[]): RawResource => route(i, 'api', 1, (spec) => (spec['ratePolicies'] = names.map((name) => ({ name }))));
  const onRule = (i: number, names: string[]): RawResource =>
    route(i, 'rule', 1, (spec) => {
      for (const rule of spec['rules'] as Array<Record<string, unknown>>) rule['ratePolicies'] = names.map((name) => ({ name }));
    });
  const plainRoutes = Array.from({ length: 4 }, (_, i) => route(i, 'v0', 1));
  const fast = policy('fast', 100);
  const fast2 = policy('fast', 50, 2);
  const slow = policy('slow', 1);
  // Route objects are kept across snapshots (as informers keep them), so only the policies' changes reach the compile.
  const api4 = onApi(4, ['fast']);
  const rule5 = onRule(5, ['slow', 'fast']);
  const rule5slow = onRule(5, ['slow']);
  const snapshots: Omit<CompileInput, 'lastAccepted' | 'cache'>[] = [
    { resources: [...plainRoutes, fast, slow] }, // used by no route: out of the table
    { resources: [...plainRoutes, api4, fast, slow] },
    { resources: [...plainRoutes, api4, rule5, fast, slow] }, // shared by two routes
    { resources: [...plainRoutes, api4, rule5, fast2, slow] }, // updated
    { resources: [...plainRoutes, api4, rule5, fast2, invalid] }, // invalid: last accepted serves
    { resources: [...plainRoutes, api4, rule5slow, fast2] }, // deleted: its route fails closed
    { resources: [...plainRoutes, rule5slow, fast2] }, // no route uses fast any more
    { resources: [...plainRoutes, rule5slow, fast2, slow] }, // back
  ];
  sameWithAndWithoutCache(snapshots);
});

test('with a cache, a ConfigMap change recompiles exactly the ApiRoutes that read it, as the plain compile would', () => {
  const configMap = (name: string, data: Record<string, string>) => ({ namespace: 'bench', name, labels: {}, data });
  const usesSchema = (i: number, name: string): RawResource =>
    route(i, 'cm', 1, (spec) => {
      (spec['rules'] as Record<string, unknown>[])[0]!['requestValidation'] = { bodySchemaRef: { configMap: name, key: 'schema.json' } };
    });
  const routes = [...Array.from({ length: 6 }, (_, i) => route(i, 'v0', 1)), usesSchema(6, 'orders'), usesSchema(7, 'orders'), usesSchema(8, 'other')];
  const orders = (type: string) => configMap('orders', { 'schema.json': JSON.stringify({ type }) });
  const other = configMap('other', { 'schema.json': '{"type":"array"}' });
  const unrelated = configMap('unrelated', { x: 'y' });
  const v1 = orders('object');
  const snapshots: Omit<CompileInput, 'lastAccepted' | 'cache'>[] = [
    { resources: routes, configMaps: [] }, // both missing: the three rules answer 503
    { resources: routes, configMaps: [v1, other] },
    { resources: routes, configMaps: [v1, other, unrelated] }, // a ConfigMap no route reads
    { resources: routes, configMaps: [orders('string'), other, unrelated] }, // the schema changed
    { resources: routes, configMaps: [configMap('orders', { 'schema.json': '{' }), other] }, // not JSON: fails closed
    { resources: routes, configMaps: [other] }, // deleted
  ];
  sameWithAndWithoutCache(snapshots);

  // Exactly the routes reading a changed ConfigMap are compiled again.
  const cache = new CompileCache();
  let accepted = compile({ resources: routes, configMaps: [v1, other], cache }).accepted;
  const misses = (configMaps: CompileInput['configMaps']): number => {
    const before = cache.stats.routeMisses;
    accepted = compile({ resources: routes, configMaps, lastAccepted: accepted, cache }).accepted;
    return cache.stats.routeMisses - before;
  };
  assert.equal(misses([v1, other, unrelated]), 0);
  const v2 = orders('string');
  assert.equal(misses([v2, other, unrelated]), 2);
  assert.equal(misses([v2, configMap('other', { 'schema.json': '{"type":"number"}' })]), 1);
});
