// Authorizers through table deltas: an unchanged Authorizer keeps its authenticator (and so its caches) across deltas
// that change other routes; a changed one gets a new authenticator, and every route using it is rebuilt onto it, also
// routes the delta did not touch; a removed one leaves its routes failing closed; the old authenticator is closed.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { tableDelta } from '../../controller/distribute/table-delta.ts';
import { retireAuthorizers } from '../../proxy/policy/authorizer-set.ts';
import { createHash } from 'node:crypto';
import type { PolicyContext } from '../../proxy/policy/policy-types.ts';
import { runPolicy } from '../../proxy/policy/route-policy.ts';
import { buildRuntime, DEFAULT_RUNTIME_OPTIONS } from '../../proxy/runtime/build-runtime.ts';
import { applyDelta } from '../../proxy/runtime/delta-apply.ts';
import type { Runtime } from '../../proxy/runtime/runtime-types.ts';
import { TimeSlicer } from '../../proxy/runtime/time-slicer.ts';
import type { RoutingTable, TableApiKeyAuthorizer } from '../../proxy/table/table-schema.ts';
import { backend, route, table } from '../e2e/helpers/tables.ts';

const SALT = '0'.repeat(32);
const KEY = 'k-7f3a9c2b';
const KEY_HASH = createHash('sha256').update(Buffer.from(SALT, 'hex')).update(KEY).digest('hex');

function keys(id: string, consumer: string): TableApiKeyAuthorizer {
  return { id, type: 'apiKey', key: { from: 'header', name: 'x-api-key', prefix: '' }, consumerHeader: 'x-consumer', salt: SALT, keys: [{ hash: KEY_HASH, consumer }] };
}

function authed(id: string, path: string, authorizer: string): ReturnType<typeof route> {
  return route(id, path, ['be'], { auth: { authorizer, scopes: [], claims: [] } });
}

function build(t: RoutingTable): Runtime {
  const built = buildRuntime(t);
  assert.ok(built.ok, built.ok ? '' : built.error);
  return built.runtime;
}

async function next(previous: Runtime, t: RoutingTable): Promise<Runtime> {
  const delta = tableDelta(previous.table, t);
  assert.ok(delta);
  const built = await applyDelta(previous, delta, new TimeSlicer(), () => null);
  assert.ok(built.ok, built.ok ? '' : built.error);
  assert.equal(JSON.stringify(built.runtime.table), JSON.stringify(t));
  retireAuthorizers(previous.authorizers, built.runtime.authorizers, DEFAULT_RUNTIME_OPTIONS.policy);
  return built.runtime;
}

/** Who the route's policy chain says a caller with KEY is (an API key answers synchronously), or its denial. */
function callerOf(runtime: Runtime, routeId: string): string {
  const policy = runtime.routes.get(routeId)?.policy;
  assert.ok(policy, `route ${routeId} has no policy`);
  const ctx = { req: { headers: { 'x-api-key': KEY } }, query: '', consumer: null, upstreamHeaders: null } as unknown as PolicyContext;
  let answer = 'no answer (asynchronous)';
  runPolicy(policy, ctx, (denial) => (answer = denial === null ? (ctx.consumer?.name ?? 'nobody') : `${denial.status} ${denial.error}`));
  return answer;
}

test('a delta keeps unchanged authenticators, rebuilds routes onto changed ones, and fails closed on removed ones', async () => {
  const be = backend('be', [9]);
  const v1 = table([authed('r1', '/a', 'ns/keys'), authed('r2', '/b', 'ns/keys'), route('r3', '/c', ['be'])], [be], 'v1', [keys('ns/keys', 'alice')]);
  const r1 = build(v1);
  const first = r1.authorizers.get('ns/keys')?.authenticator;
  assert.ok(first);
  assert.equal(callerOf(r1, 'r1'), 'alice');
  assert.equal(r1.routes.get('r3')?.policy, null, 'a route without policies holds no chain');

  // An unrelated route changes: the same authenticator, and the untouched routes keep their compiled entries.
  const v2 = table([authed('r1', '/a', 'ns/keys'), authed('r2', '/b', 'ns/keys'), route('r3', '/c2', ['be'])], [be], 'v2', [keys('ns/keys', 'alice')]);
  const r2 = await next(r1, v2);
  assert.equal(r2.authorizers.get('ns/keys')?.authenticator, first);
  assert.equal(r2.routes.get('r1'), r1.routes.get('r1'));

  // The Authorizer changes (another consumer): a new authenticator, and both routes using it move onto it.
  const v3 = table([authed('r1', '/a', 'ns/keys'), authed('r2', '/b', 'ns/keys'), route('r3', '/c2', ['be'])], [be], 'v3', [keys('ns/keys', 'bob')]);
  const r3 = await next(r2, v3);
  const second = r3.authorizers.get('ns/keys')?.authenticator;
  assert.ok(second && second !== first);
  for (const id of ['r1', 'r2']) assert.equal(callerOf(r3, id), 'bob');

  // The Authorizer leaves the table: its routes stay, failing closed (500), never forwarded.
  const v4 = table([authed('r1', '/a', 'ns/keys'), authed('r2', '/b', 'ns/keys'), route('r3', '/c2', ['be'])], [be], 'v4', []);
  const r4 = await next(r3, v4);
  assert.equal(r4.authorizers.size, 0);
  for (const id of ['r1', 'r2']) assert.equal(callerOf(r4, id), '500 authorizer unavailable');
});

test('a table with the same authorizer id twice is refused, whole or as a delta', async () => {
  const be = backend('be', [9]);
  const twice = table([authed('r1', '/a', 'ns/keys')], [be], 'v2', []);
  twice.authorizers = [keys('ns/keys', 'alice'), keys('ns/keys', 'bob')];
  const built = buildRuntime(twice);
  assert.equal(built.ok, false);
  assert.match(built.ok ? '' : built.error, /duplicate authorizer id "ns\/keys"/);
  const r1 = build(table([authed('r1', '/a', 'ns/keys')], [be], 'v1', [keys('ns/keys', 'alice')]));
  const delta = { ...(tableDelta(r1.table, table([authed('r1', '/a', 'ns/keys')], [be], 'v2', [keys('ns/keys', 'carol')])) as NonNullable<ReturnType<typeof tableDelta>>) };
  delta.authorizers = { removed: [], changed: [], added: [{ after: 'ns/keys', item: keys('ns/keys', 'dave') }] };
  const applied = await applyDelta(r1, delta, new TimeSlicer(), () => null);
  assert.equal(applied.ok, false);
});
