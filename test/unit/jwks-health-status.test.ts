// The controller's JWKS health watch against a real JWKS endpoint on loopback, through both compile paths: a URI that
// cannot be fetched puts ResolvedRefs=False (JwksUnavailable, with the URI, the error and since when) on the
// Authorizer, recovery clears it, and the table itself never changes for it (proxies keep the keys they have).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pino } from 'pino';
import { compile } from '../../controller/compile/compile.ts';
import { CompileCache } from '../../controller/compile/compile-cache.ts';
import type { CompileInput, ResourceStatus } from '../../controller/compile/compile-types.ts';
import { JwksHealthWatch } from '../../controller/sources/jwks-health.ts';
import { raw, apiRoute } from './compile-fixtures.ts';
import { startJwksServer, testKey } from '../policy/jwt-fixtures.ts';

function resolvedRefs(statuses: readonly ResourceStatus[], name: string): { status: string; reason: string; message: string } {
  const status = statuses.find((s) => s.kind === 'Authorizer' && s.name === name);
  const c = status?.conditions.find((x) => x.type === 'ResolvedRefs');
  assert.ok(c, `no ResolvedRefs on Authorizer ${name}`);
  return { status: c.status, reason: c.reason, message: c.message };
}

test('a JWKS URI that stops answering is reported on the Authorizer, and its recovery too', async (t) => {
  const key = await testKey('RS256', 'k1');
  const jwks = await startJwksServer([key.jwk]);
  t.after(() => jwks.close());
  let changes = 0;
  const watch = new JwksHealthWatch({ logger: pino({ level: 'silent' }), intervalMs: 3_600_000, onChange: () => changes++ });
  t.after(() => watch.close());
  const input: CompileInput = {
    resources: [
      raw('Authorizer', 'idp', { type: 'JWT', jwt: { issuer: 'https://issuer.test', audiences: ['api'], jwks: { uri: jwks.uri } } }),
      apiRoute('orders', { authorizer: { name: 'idp' }, rules: [{ backends: [{ url: 'http://127.0.0.1:9' }] }] }),
    ],
  };
  const cache = new CompileCache();
  const both = (): Array<ReturnType<typeof compile>> => [compile({ ...input, jwksHealth: watch.health() }), compile({ ...input, jwksHealth: watch.health(), cache })];

  const [first] = both();
  assert.ok(first);
  watch.watch(first.table);
  await watch.probeAll();
  for (const out of both()) assert.equal(resolvedRefs(out.statuses, 'idp').status, 'True');
  const healthyVersion = first.table.version;

  jwks.serve('not json', {}, 500);
  await watch.probeAll();
  assert.ok(changes >= 1);
  for (const out of both()) {
    const refs = resolvedRefs(out.statuses, 'idp');
    assert.equal(refs.status, 'False');
    assert.equal(refs.reason, 'JwksUnavailable');
    assert.match(refs.message, new RegExp(`spec\\.jwt\\.jwks\\.uri: fetching the JWKS from ${jwks.uri.replace(/[.]/g, '\\.')} fails since \\d{4}-\\d\\d-\\d\\dT`));
    assert.match(refs.message, /500/);
    assert.equal(out.table.version, healthyVersion, 'JWKS health never changes the table');
  }

  jwks.serve({ keys: [key.jwk] });
  await watch.probeAll();
  for (const out of both()) assert.deepEqual(resolvedRefs(out.statuses, 'idp'), { status: 'True', reason: 'ResolvedRefs', message: 'All references resolved' });
});

test('a JWKS that parses to no usable key is reported, and an unused URI is not watched', async (t) => {
  const jwks = await startJwksServer([{ kty: 'oct', k: 'c2VjcmV0', kid: 'hmac' }]);
  t.after(() => jwks.close());
  const watch = new JwksHealthWatch({ logger: pino({ level: 'silent' }), intervalMs: 3_600_000, onChange: () => {} });
  t.after(() => watch.close());
  const resources = [raw('Authorizer', 'idp', { type: 'JWT', jwt: { issuer: 'https://issuer.test', audiences: ['api'], jwks: { uri: jwks.uri } } })];
  // No route uses it: not in the table, not fetched.
  watch.watch(compile({ resources }).table);
  await watch.probeAll();
  assert.equal(jwks.fetches, 0);
  const used = { resources: [...resources, apiRoute('orders', { authorizer: { name: 'idp' }, rules: [{ backends: [{ url: 'http://127.0.0.1:9' }] }] })] };
  watch.watch(compile(used).table);
  await watch.probeAll();
  const refs = resolvedRefs(compile({ ...used, jwksHealth: watch.health() }).statuses, 'idp');
  assert.equal(refs.reason, 'JwksUnavailable');
  assert.match(refs.message, /no usable signature key/);
  assert.doesNotMatch(refs.message, /c2VjcmV0/);
});
