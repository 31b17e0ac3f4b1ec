// One invalid (or losing) resource never changes how anything else is served: every other route's TableRoute,
// every other backend and every other status stay byte-identical. And the output never depends on input order.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { compile } from '../../controller/compile/compile.ts';
import type { CompileInput, CompileOutput, RawResource } from '../../controller/compile/compile-types.ts';
import { stableJson } from '../../controller/compile/stable-json.ts';
import { apiRoute, raw } from './compile-fixtures.ts';

const base: CompileInput = {
  resources: [
    apiRoute('users', {
      hosts: ['api.example.com'],
      rules: [
        { matches: [{ path: { type: 'Prefix', value: '/users' }, methods: ['GET'] }], backends: [{ service: { name: 'users', port: 'http' } }] },
        { matches: [{ path: { type: 'Template', value: '/users/{id}' } }], backends: [{ url: 'http://users.internal' }] },
      ],
    }, '2026-01-01T00:00:00Z'),
    apiRoute('stage', {
      hosts: ['api.example.com'],
      basePath: '/v1',
      rules: [
        { matches: [{ path: { type: 'Regex', value: '/orders/[0-9]+' } }], backends: [{ url: 'http://orders.internal', weight: 9 }, { url: 'http://orders-v2.internal', weight: 1 }] },
        { canary: { header: { name: 'X-Canary', value: '1' }, backends: [{ url: 'http://orders-v2.internal' }] }, backends: [{ url: 'http://orders.internal' }] },
      ],
    }, '2026-01-02T00:00:00Z'),
    apiRoute('secured', {
      authorizer: { name: 'jwt' },
      ratePolicies: [{ name: 'per-ip' }],
      rules: [{ matches: [{ path: { type: 'Exact', value: '/secure' } }], backends: [{ url: 'http://secure.internal' }] }],
    }, '2026-01-03T00:00:00Z'),
    raw('Authorizer', 'jwt', { type: 'JWT', jwt: { issuer: 'https://issuer', audiences: ['api'], jwks: { uri: 'https://issuer/jwks' } } }),
    raw('RatePolicy', 'per-ip', { limits: [{ name: 'per-ip', key: [{ type: 'ClientIP' }], tokenBucket: { rate: 10 } }] }),
  ],
  services: [{ namespace: 'default', name: 'users', ports: [{ name: 'http', port: 80, targetPort: 8080 }] }],
  endpointSlices: [{ namespace: 'default', serviceName: 'users', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['10.0.0.1'], ready: true }] }],
};

function withExtra(extra: RawResource): CompileInput {
  return { ...base, resources: [...base.resources, extra] };
}

/** Every route, backend and status of `before`, as JSON, looked up in `after`. */
function assertUnchanged(before: CompileOutput, after: CompileOutput): void {
  const routesAfter = new Map(after.table.routes.map((r) => [r.id, JSON.stringify(r)]));
  for (const r of before.table.routes) assert.equal(routesAfter.get(r.id), JSON.stringify(r), `route ${r.id} changed`);
  const backendsAfter = new Map(after.table.backends.map((b) => [b.id, JSON.stringify(b)]));
  for (const b of before.table.backends) assert.equal(backendsAfter.get(b.id), JSON.stringify(b), `backend ${b.id} changed`);
  const statusesAfter = new Map(after.statuses.map((s) => [`${s.kind}/${s.namespace}/${s.name}`, stableJson(s)]));
  for (const s of before.statuses) assert.equal(statusesAfter.get(`${s.kind}/${s.namespace}/${s.name}`), stableJson(s), `status of ${s.kind} ${s.name} changed`);
  // The routes that were there keep their relative order.
  const beforeIds = before.table.routes.map((r) => r.id);
  assert.deepEqual(after.table.routes.map((r) => r.id).filter((id) => beforeIds.includes(id)), beforeIds);
}

function conditionOf(out: CompileOutput, name: string, type: string) {
  return out.statuses.find((s) => s.name === name)?.conditions.find((c) => c.type === type);
}

describe('compile isolation', () => {
  const before = compile(base);

  test('the base set is fully accepted', () => {
    for (const s of before.statuses) assert.ok(s.conditions.every((c) => c.status === 'True'), JSON.stringify(s));
    assert.equal(before.table.routes.length, 5);
  });

  const variants: [string, RawResource, (out: CompileOutput) => void][] = [
    [
      'schema error on the same host and path',
      apiRoute('bad-schema', { hosts: ['api.example.com'], rules: [{ matches: [{ path: { type: 'Prefix', value: '/users' } }], backends: [{ url: 'http://x.internal', weight: 0 }] }] }, '2020-01-01T00:00:00Z'),
      (out) => assert.equal(conditionOf(out, 'bad-schema', 'Accepted')?.status, 'False'),
    ],
    [
      'a regex that does not compile',
      apiRoute('bad-regex', { hosts: ['api.example.com'], basePath: '/v1', rules: [{ matches: [{ path: { type: 'Regex', value: '/orders/(' } }], backends: [{ url: 'http://orders.internal' }] }] }, '2020-01-01T00:00:00Z'),
      (out) => assert.match(conditionOf(out, 'bad-regex', 'Accepted')?.message ?? '', /spec\.rules\[0\]\.matches\[0\]\.path\.value/),
    ],
    [
      'a missing service',
      apiRoute('missing-svc', { hosts: ['api.example.com'], rules: [{ matches: [{ path: { type: 'Prefix', value: '/payments' } }], backends: [{ service: { name: 'payments', port: 80 } }] }] }, '2020-01-01T00:00:00Z'),
      (out) => assert.equal(conditionOf(out, 'missing-svc', 'ResolvedRefs')?.reason, 'BackendNotFound'),
    ],
    [
      'a conflicting route created later',
      apiRoute('latecomer', { hosts: ['api.example.com'], rules: [{ matches: [{ path: { type: 'Prefix', value: '/users' } }], backends: [{ url: 'http://evil.internal' }] }] }, '2027-01-01T00:00:00Z'),
      (out) => assert.equal(conditionOf(out, 'latecomer', 'Conflicted')?.status, 'True'),
    ],
    [
      'a conflicting route without a creationTimestamp',
      apiRoute('aaa-untimed', { basePath: '/v1', hosts: ['api.example.com'], rules: [{ backends: [{ url: 'http://evil.internal' }], canary: { header: { name: 'x-canary', value: '1' }, backends: [{ url: 'http://orders-v2.internal' }] } }] }),
      (out) => assert.equal(conditionOf(out, 'aaa-untimed', 'Conflicted')?.status, 'True'),
    ],
    [
      'an invalid Authorizer',
      raw('Authorizer', 'broken', { type: 'JWT' }),
      (out) => assert.equal(conditionOf(out, 'broken', 'Accepted')?.status, 'False'),
    ],
    [
      'an invalid RatePolicy',
      raw('RatePolicy', 'broken-policy', { limits: [{ name: 'a', key: [], tokenBucket: { rate: 1 } }] }),
      (out) => assert.equal(conditionOf(out, 'broken-policy', 'Accepted')?.status, 'False'),
    ],
    [
      'a document that is not an object at all',
      { kind: 'ApiRoute', namespace: 'default', name: 'garbage', object: 'not a manifest' },
      (out) => assert.equal(conditionOf(out, 'garbage', 'Accepted')?.status, 'False'),
    ],
  ];

  for (const [name, extra, check] of variants) {
    test(`adding ${name} leaves everything else byte-identical`, () => {
      const after = compile(withExtra(extra));
      check(after);
      assertUnchanged(before, after);
    });
  }

  test('an invalid update that falls back to its last accepted version changes nothing', () => {
    const broken = apiRoute('users', { hosts: ['api.example.com'], rules: [] }, '2026-01-01T00:00:00Z');
    const after = compile({ ...base, resources: [broken, ...base.resources.slice(1)], lastAccepted: before.accepted });
    assert.equal(after.table.version, before.table.version);
    assert.match(conditionOf(after, 'users', 'Accepted')?.message ?? '', /still serving the last accepted version/);
  });
});

describe('compile determinism', () => {
  const expected = stableJson(compile(base));

  test('any input order gives the same bytes and version', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31);
    for (let i = 0; i < 20; i++) {
      const shuffled = [...base.resources];
      for (let j = shuffled.length - 1; j > 0; j--) {
        const k = next() % (j + 1);
        [shuffled[j], shuffled[k]] = [shuffled[k] as RawResource, shuffled[j] as RawResource];
      }
      const out = compile({ ...base, resources: shuffled, endpointSlices: [...(base.endpointSlices ?? [])].reverse() });
      assert.equal(stableJson(out), expected);
    }
  });

  test('compiling twice gives the same bytes', () => {
    assert.equal(stableJson(compile(base)), expected);
  });

  test('a change to one route changes the version and only that route', () => {
    const before = compile(base);
    const changed = structuredClone(base);
    const stage = changed.resources[1]?.object as { spec: { rules: { backends: { weight: number }[] }[] } };
    (stage.spec.rules[0]?.backends[0] as { weight: number }).weight = 8;
    const after = compile(changed);
    assert.notEqual(after.table.version, before.table.version);
    const differing = after.table.routes.filter((r, i) => JSON.stringify(r) !== JSON.stringify(before.table.routes[i])).map((r) => r.id);
    assert.deepEqual(differing, ['default/stage/r0/m0']);
  });

  test('an endpoint change changes the version', () => {
    const moved = compile({ ...base, endpointSlices: [{ namespace: 'default', serviceName: 'users', ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['10.0.0.9'], ready: true }] }] });
    assert.notEqual(moved.table.version, compile(base).table.version);
  });
});
