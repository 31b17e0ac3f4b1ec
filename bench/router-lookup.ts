// Micro-benchmark of the router: ns per lookup at 10,000 routes (and at 1 route, for scale) and the
// time to build the index. Run: node bench/router-lookup.ts
// The 10k table mixes what a real fleet has: 400 hosts with exact, template and prefix routes (some
// with header or query matchers), 20 wildcard hosts, and any-host routes. Only 5 routes are regex:
// regex routes are scanned linearly, so a table with thousands of them would be slow by design.
// Inputs reuse the same strings, so V8's cached string hashes flatter the numbers: fresh strings
// from a real request cost roughly 200-250 ns more per lookup (measured while writing this).
import { buildRouteIndex } from '../proxy/router/route-index.ts';
import type { MatchInput, RouteIndex } from '../proxy/router/route-index-types.ts';
import type { TableRoute } from '../proxy/table/table-schema.ts';
import { request, route } from '../test/unit/router-fixture.ts';

const HOSTS = 400;
const WILDCARDS = 20;

function tenRoutesTable(): TableRoute[] {
  const routes: TableRoute[] = [];
  for (let h = 0; h < HOSTS; h++) {
    const hosts = [`svc-${h}.api.example.com`];
    const id = (n: string): string => `ns/svc-${h}/${n}`;
    for (let k = 0; k < 6; k++) {
      routes.push(route({ id: id(`list-${k}`), hosts, path: `/v1/res-${k}`, methods: ['GET'] }));
      routes.push(route({ id: id(`create-${k}`), hosts, path: `/v1/res-${k}`, methods: ['POST'] }));
      routes.push(route({ id: id(`item-${k}`), hosts, path: `/v1/res-${k}/{id}`, methods: ['GET', 'PUT', 'DELETE'] }));
    }
    routes.push(route({ id: id('sub'), hosts, path: '/v1/orgs/{org}/repos/{repo}' }));
    routes.push(route({ id: id('files'), hosts, path: '/v1/files/{path+}' }));
    routes.push(route({ id: id('beta'), hosts, path: '/v2/*', headers: [{ name: 'x-beta', type: 'exact', value: '1' }] }));
    routes.push(route({ id: id('v2'), hosts, path: '/v2/*' }));
    routes.push(route({ id: id('debug'), hosts, path: '/debug', query: [{ name: 'token', type: 'present' }] }));
    routes.push(route({ id: id('static'), hosts, path: '/static/*' }));
  }
  for (let w = 0; w < WILDCARDS; w++) {
    const hosts = [`*.tenant-${w}.example.net`];
    for (let k = 0; k < 5; k++) {
      routes.push(route({ id: `wild-${w}/exact-${k}`, hosts, path: `/app/page-${k}` }));
      routes.push(route({ id: `wild-${w}/tpl-${k}`, hosts, path: `/app/page-${k}/{id}` }));
      routes.push(route({ id: `wild-${w}/prefix-${k}`, hosts, path: `/assets-${k}/*` }));
    }
  }
  for (let a = 0; routes.length < 10_000 - 6; a++) routes.push(route({ id: `any/${a}`, path: a % 2 === 0 ? `/shared/thing-${a}` : `/shared/tpl-${a}/{x}` }));
  for (let r = 0; r < 5; r++) routes.push(route({ id: `any/regex-${r}`, path: { type: 'regex', value: `/legacy-${r}/[a-z]+/\\d+` } }));
  routes.push(route({ id: 'any/health', path: '/healthz', methods: ['GET'] }));
  return routes;
}

/** ns per call of index.match over `inputs` (cycled); the result is folded into a sink so nothing is optimised away. */
function nsPerLookup(index: RouteIndex, inputs: MatchInput[], iterations: number): number {
  let sink = 0;
  for (let i = 0; i < 200_000; i++) sink += index.match(inputs[i % inputs.length]!).kind.length;
  const start = process.hrtime.bigint();
  for (let i = 0; i < iterations; i++) sink += index.match(inputs[i % inputs.length]!).kind.length;
  const ns = Number(process.hrtime.bigint() - start) / iterations;
  if (sink === 0) throw new Error('unreachable');
  return Math.round(ns);
}

function expect(index: RouteIndex, input: MatchInput, outcome: string): MatchInput {
  const r = index.match(input);
  const got = r.kind === 'route' ? r.route.id : r.kind;
  if (got !== outcome) throw new Error(`${input.host}${input.path}: expected ${outcome}, got ${got}`);
  return input;
}

const routes = tenRoutesTable();
const buildMs: number[] = [];
let index: RouteIndex = buildRouteIndex(routes);
for (let i = 0; i < 5; i++) {
  const t = performance.now();
  index = buildRouteIndex(routes);
  buildMs.push(performance.now() - t);
}
buildMs.sort((a, b) => a - b);

const first = 'svc-0.api.example.com';
const mid = 'svc-200.api.example.com';
const last = `svc-${HOSTS - 1}.api.example.com`;
const cases: Record<string, MatchInput[]> = {
  'exact, first host': [expect(index, request({ host: first, path: '/v1/res-0' }), 'ns/svc-0/list-0')],
  'exact, POST after GET': [expect(index, request({ host: mid, method: 'POST', path: '/v1/res-3' }), 'ns/svc-200/create-3')],
  'template 1 param': [expect(index, request({ host: mid, path: '/v1/res-5/12345' }), 'ns/svc-200/item-5')],
  'template 2 params': [expect(index, request({ host: last, path: '/v1/orgs/acme/repos/gatehouse' }), `ns/svc-${HOSTS - 1}/sub`)],
  'greedy param': [expect(index, request({ host: last, path: '/v1/files/a/b/c.txt' }), `ns/svc-${HOSTS - 1}/files`)],
  'prefix, last route of host': [expect(index, request({ host: last, path: '/static/css/site.css' }), `ns/svc-${HOSTS - 1}/static`)],
  'prefix + header matcher': [expect(index, request({ host: mid, path: '/v2/x', headers: { 'x-beta': '1' } }), 'ns/svc-200/beta')],
  'exact + query matcher': [expect(index, request({ host: mid, path: '/debug?a=1&token=x' }), 'ns/svc-200/debug')],
  'wildcard host': [expect(index, request({ host: 'eu.tenant-19.example.net', path: '/app/page-4/7' }), 'wild-19/tpl-4')],
  'any-host fall-through': [expect(index, request({ host: mid, path: '/healthz' }), 'any/health')],
  'regex (last tier, 5th)': [expect(index, request({ host: 'x.test', path: '/legacy-4/abc/42' }), 'any/regex-4')],
  '404 known host': [expect(index, request({ host: mid, path: '/nope/nothing' }), 'not-found')],
  '404 unknown host': [expect(index, request({ host: 'unknown.test', path: '/nope' }), 'not-found')],
  'method not allowed (405)': [expect(index, request({ host: mid, method: 'PATCH', path: '/v1/res-2' }), 'method-not-allowed')],
};
// 1,000 distinct hits spread over every host, so caches do not see one input over and over.
cases['mixed 1000 distinct hits'] = Array.from({ length: 1000 }, (_, i) =>
  request({ host: `svc-${(i * 7) % HOSTS}.api.example.com`, path: i % 3 === 0 ? `/v1/res-${i % 6}` : i % 3 === 1 ? `/v1/res-${i % 6}/${i}` : `/static/${i}.js` }),
);

const iterations = Number(process.env.ITERATIONS ?? 2_000_000);
const lookupNs: Record<string, number> = {};
for (const [name, inputs] of Object.entries(cases)) lookupNs[name] = nsPerLookup(index, inputs, iterations);

const one = buildRouteIndex([route({ id: 'only', path: '/v1/res-0' })]);
const oneRouteNs = nsPerLookup(one, [request({ path: '/v1/res-0' })], iterations);

console.log(
  JSON.stringify(
    {
      node: process.version,
      routes: routes.length,
      regexRoutes: routes.filter((r) => r.path.type === 'regex').length,
      buildMs: { median: Math.round(buildMs[2]! * 10) / 10, min: Math.round(buildMs[0]! * 10) / 10 },
      lookupNs,
      oneRoute: { hitNs: oneRouteNs },
    },
    null,
    2,
  ),
);
