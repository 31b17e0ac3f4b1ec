// The status writer and event recorder against a real API server: merge patches on the status subresource
// land as written, an unchanged recompile sends nothing (resourceVersion stays), transition times move only
// for the condition that transitioned, conditions owned by others survive, rejections make one Event.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { pino } from 'pino';
import type { Condition } from '../../crds/schemas/index.ts';
import type { ResourceStatus } from '../../controller/compile/compile-types.ts';
import { EventRecorder } from '../../controller/status/event-recorder.ts';
import { StatusWriter, type LiveObject } from '../../controller/status/status-writer.ts';
import { startControlPlane, type ControlPlane } from './control-plane.ts';

const logger = pino({ level: process.env.LOG_LEVEL ?? 'silent' });

const accepted: Condition = { type: 'Accepted', status: 'True', reason: 'Accepted', message: 'Spec is valid' };
const resolved: Condition = { type: 'ResolvedRefs', status: 'True', reason: 'ResolvedRefs', message: 'All references resolved' };
const invalid: Condition = { type: 'Accepted', status: 'False', reason: 'Invalid', message: 'spec.rules[0].matches[0].path.value: not a valid regular expression; not served' };
const conflicted: Condition = { type: 'Conflicted', status: 'True', reason: 'RouteConflict', message: 'GET /a on a.example is also matched by ApiRoute default/other' };

function route(name: string, host: string): string {
  return `apiVersion: gatehouse.dev/v1alpha1
kind: ApiRoute
metadata: { name: ${name}, namespace: default }
spec:
  hosts: ["${host}"]
  rules:
    - backends:
        - url: http://127.0.0.1:9
`;
}

interface ApiRouteJson {
  metadata: { name: string; namespace: string; generation: number; uid: string; resourceVersion: string };
  status?: { observedGeneration?: number; conditions?: (Condition & Record<string, unknown>)[] };
}

async function getRoute(cp: ControlPlane, name: string): Promise<ApiRouteJson> {
  const r = await cp.kubectl(['get', 'apiroute', name, '-n', 'default', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return JSON.parse(r.stdout) as ApiRouteJson;
}

/** What an informer cache would hand the writer. */
async function liveMap(cp: ControlPlane): Promise<Map<string, LiveObject>> {
  const r = await cp.kubectl(['get', 'apiroutes', '-n', 'default', '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  const map = new Map<string, LiveObject>();
  for (const item of (JSON.parse(r.stdout) as { items: ApiRouteJson[] }).items) {
    const m = item.metadata;
    map.set(`ApiRoute/${m.namespace}/${m.name}`, { generation: m.generation, status: item.status, uid: m.uid, resourceVersion: m.resourceVersion });
  }
  return map;
}

function status(name: string, generation: number, conditions: Condition[]): ResourceStatus {
  return { kind: 'ApiRoute', namespace: 'default', name, generation, conditions: conditions.map((c) => ({ ...c, observedGeneration: generation })) };
}

async function warningEvents(cp: ControlPlane, name: string): Promise<{ reason: string; message: string; count: number; type: string; involvedObject: { uid?: string; kind: string } }[]> {
  const r = await cp.kubectl(['get', 'events', '-n', 'default', '--field-selector', `involvedObject.name=${name},type=Warning`, '-o', 'json']);
  assert.equal(r.code, 0, r.stderr);
  return (JSON.parse(r.stdout) as { items: [] }).items;
}

test('status writer against a real API server', { timeout: 120_000 }, async (t) => {
  const cp = await startControlPlane();
  t.after(() => cp.stop());
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(cp.kubeconfigPath);
  let now = new Date('2026-03-01T12:00:00Z');
  const events = new EventRecorder({ kubeConfig, logger, instance: 'test' });
  const writer = new StatusWriter({ kubeConfig, logger, events, clock: () => now });

  const applied = await cp.kubectl(['apply', '-f', '-'], { stdin: [route('alpha', 'a.example'), route('beta', 'b.example')].join('---\n') });
  assert.equal(applied.code, 0, applied.stderr);

  await t.test('first write: conditions, observedGeneration and transition times land on the status subresource', async () => {
    const live = await liveMap(cp);
    const result = await writer.write([status('alpha', 1, [accepted, resolved]), status('beta', 1, [accepted, resolved])], live);
    assert.deepEqual(result, { patched: ['ApiRoute/default/alpha', 'ApiRoute/default/beta'], unchanged: 0, gone: [], failed: [] });
    const alpha = await getRoute(cp, 'alpha');
    assert.equal(alpha.status?.observedGeneration, 1);
    assert.deepEqual(alpha.status?.conditions, [
      { ...accepted, observedGeneration: 1, lastTransitionTime: '2026-03-01T12:00:00Z' },
      { ...resolved, observedGeneration: 1, lastTransitionTime: '2026-03-01T12:00:00Z' },
    ]);
    const printed = await cp.kubectl(['get', 'apiroutes', '-n', 'default']);
    assert.match(printed.stdout, /alpha\s+\["a\.example"\]\s+True/);
  });

  await t.test('the same statuses again send no patch and leave resourceVersion alone, even from a stale cache', async () => {
    const before = await getRoute(cp, 'alpha');
    const patches = writer.counters.patches;
    now = new Date('2026-03-01T12:10:00Z');
    const statuses = [status('alpha', 1, [accepted, resolved]), status('beta', 1, [accepted, resolved])];
    const result = await writer.write(statuses, await liveMap(cp));
    assert.deepEqual(result, { patched: [], unchanged: 2, gone: [], failed: [] });
    assert.equal(writer.counters.patches, patches, 'no request was sent');
    // A cache that lags behind our own write (status still empty, old resourceVersion): the conditional patch
    // is refused (409), the writer re-reads, sees nothing to change, and stops.
    const stale = new Map([['ApiRoute/default/alpha', { generation: 1, status: undefined, resourceVersion: '1' }]]);
    const conflicts = writer.counters.conflicts;
    const again = await writer.write([statuses[0]!], stale);
    assert.deepEqual(again, { patched: [], unchanged: 1, gone: [], failed: [] });
    assert.equal(writer.counters.conflicts, conflicts + 1, 'the stale patch was refused, not applied');
    assert.equal((await getRoute(cp, 'alpha')).metadata.resourceVersion, before.metadata.resourceVersion);
  });

  await t.test('a rejection moves only that condition\'s time, keeps others\' conditions, and records one Warning', async () => {
    // Another component (the distributor) owns Programmed.
    const programmed = { type: 'Programmed', status: 'True', reason: 'Programmed', message: '2/2 proxies serve generation 1', lastTransitionTime: '2026-03-01T12:00:30Z', observedGeneration: 1 };
    const alphaNow = await getRoute(cp, 'alpha');
    const patch = JSON.stringify({ status: { conditions: [...(alphaNow.status?.conditions ?? []), programmed] } });
    const p = await cp.kubectl(['patch', 'apiroute', 'alpha', '-n', 'default', '--subresource=status', '--type=merge', '-p', patch]);
    assert.equal(p.code, 0, p.stderr);
    // The user edits the spec: generation 2, which the compiler rejects.
    const edited = await cp.kubectl(['apply', '-f', '-'], { stdin: route('alpha', 'a2.example') });
    assert.equal(edited.code, 0, edited.stderr);

    now = new Date('2026-03-01T12:20:00Z');
    const result = await writer.write([status('alpha', 2, [invalid, resolved]), status('beta', 1, [accepted, resolved])], await liveMap(cp));
    assert.deepEqual(result.patched, ['ApiRoute/default/alpha']);
    assert.equal(result.unchanged, 1);
    const alpha = await getRoute(cp, 'alpha');
    assert.equal(alpha.status?.observedGeneration, 2);
    const byType = new Map(alpha.status?.conditions?.map((c) => [c.type, c]));
    assert.deepEqual([...byType.keys()], ['Accepted', 'Programmed', 'ResolvedRefs']);
    assert.equal(byType.get('Accepted')?.lastTransitionTime, '2026-03-01T12:20:00Z', 'Accepted transitioned');
    assert.equal(byType.get('Accepted')?.message, invalid.message);
    assert.equal(byType.get('ResolvedRefs')?.lastTransitionTime, '2026-03-01T12:00:00Z', 'ResolvedRefs did not');
    assert.equal(byType.get('ResolvedRefs')?.observedGeneration, 2);
    assert.deepEqual(byType.get('Programmed'), programmed, 'a condition we do not own is kept as it was');

    const warnings = await warningEvents(cp, 'alpha');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.reason, 'Invalid');
    assert.equal(warnings[0]?.message, `Accepted: ${invalid.message}`);
    assert.equal(warnings[0]?.involvedObject.uid, alpha.metadata.uid);
    assert.equal(warnings[0]?.involvedObject.kind, 'ApiRoute');
    assert.equal(warnings[0]?.count, 1);

    // Recompiles with the same rejection: no patch, no new event.
    const patches = writer.counters.patches;
    now = new Date('2026-03-01T12:21:00Z');
    await writer.write([status('alpha', 2, [invalid, resolved])], await liveMap(cp));
    await writer.write([status('alpha', 2, [invalid, resolved])], await liveMap(cp));
    assert.equal(writer.counters.patches, patches);
    assert.equal((await warningEvents(cp, 'alpha')).length, 1);
    assert.equal(events.counters.created, 1);
  });

  await t.test('rejected again after a fix: the same event counts up instead of a second object', async () => {
    now = new Date('2026-03-01T12:30:00Z');
    await writer.write([status('alpha', 2, [accepted, resolved])], await liveMap(cp));
    now = new Date('2026-03-01T12:31:00Z');
    await writer.write([status('alpha', 2, [invalid, resolved])], await liveMap(cp));
    const warnings = await warningEvents(cp, 'alpha');
    assert.equal(warnings.length, 1);
    assert.equal(warnings[0]?.count, 2);
  });

  await t.test('a conflict that went away is removed from the conditions', async () => {
    await writer.write([status('beta', 1, [accepted, conflicted, resolved])], await liveMap(cp));
    assert.deepEqual((await getRoute(cp, 'beta')).status?.conditions?.map((c) => c.type), ['Accepted', 'Conflicted', 'ResolvedRefs']);
    await writer.write([status('beta', 1, [accepted, resolved])], await liveMap(cp));
    assert.deepEqual((await getRoute(cp, 'beta')).status?.conditions?.map((c) => c.type), ['Accepted', 'ResolvedRefs']);
  });

  await t.test('not in the cache: read from the server; deleted meanwhile: skipped without error', async () => {
    const reads = writer.counters.reads;
    const fresh = await cp.kubectl(['apply', '-f', '-'], { stdin: route('gamma', 'c.example') });
    assert.equal(fresh.code, 0, fresh.stderr);
    const result = await writer.write([status('gamma', 1, [accepted, resolved]), status('deleted', 1, [accepted, resolved])], new Map());
    assert.deepEqual(result, { patched: ['ApiRoute/default/gamma'], unchanged: 0, gone: ['ApiRoute/default/deleted'], failed: [] });
    assert.equal(writer.counters.reads, reads + 2);
    // Deleted between the cache snapshot and the patch.
    const cache = await liveMap(cp);
    assert.equal((await cp.kubectl(['delete', 'apiroute', 'gamma', '-n', 'default'])).code, 0);
    now = new Date('2026-03-01T12:40:00Z');
    const after = await writer.write([status('gamma', 1, [invalid, resolved])], cache);
    assert.deepEqual(after.gone, ['ApiRoute/default/gamma']);
  });

  await t.test('many resources at once: every one written, bounded concurrency', async () => {
    const docs = Array.from({ length: 40 }, (_, i) => route(`bulk-${i}`, `bulk-${i}.example`)).join('---\n');
    assert.equal((await cp.kubectl(['apply', '-f', '-'], { stdin: docs })).code, 0);
    const statuses = Array.from({ length: 40 }, (_, i) => status(`bulk-${i}`, 1, [accepted, resolved]));
    const result = await writer.write(statuses, await liveMap(cp));
    assert.equal(result.patched.length, 40);
    const again = await writer.write(statuses, await liveMap(cp));
    assert.equal(again.unchanged, 40);
  });
});
