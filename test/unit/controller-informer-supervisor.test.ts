// The supervisor restarts a stopped informer with growing, capped, jittered delays and reports sync once a
// list succeeded; the backoff itself is checked on its own.
import { strict as assert } from 'node:assert';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Informer, KubernetesListObject, KubernetesObject, ObjectCache } from '@kubernetes/client-node';
import { pino } from 'pino';
import { InformerSupervisor } from '../../controller/sources/informer-supervisor.ts';
import { JitteredBackoff } from '../../controller/sources/jittered-backoff.ts';

test('backoff doubles up to the cap, jitter stays within [ceiling/2, ceiling], reset starts over', () => {
  const lows = new JitteredBackoff({ initialMs: 100, maxMs: 1000, random: () => 0 });
  assert.deepEqual([1, 2, 3, 4, 5, 6].map(() => lows.next()), [50, 100, 200, 400, 500, 500]);
  const highs = new JitteredBackoff({ initialMs: 100, maxMs: 1000, random: () => 1 });
  assert.deepEqual([1, 2, 3, 4, 5].map(() => highs.next()), [100, 200, 400, 800, 1000]);
  highs.reset();
  assert.equal(highs.next(), 100);
});

type Handler = (arg?: unknown) => void;

/** Enough of client-node's ListWatch: start() lists (via the supervisor's wrapped list) and may fail. */
function fakeInformer(list: () => Promise<KubernetesListObject<KubernetesObject>>, script: { failStarts: number; failWatchAfterList?: boolean }) {
  const handlers = new Map<string, Handler[]>();
  let items: KubernetesObject[] = [];
  let starts = 0;
  const emit = (verb: string, arg?: unknown): void => (handlers.get(verb) ?? []).forEach((h) => h(arg));
  const informer: Informer<KubernetesObject> & ObjectCache<KubernetesObject> & { starts: () => number } = {
    on: (verb: string, cb: Handler) => void handlers.set(verb, [...(handlers.get(verb) ?? []), cb]),
    off: () => {},
    start: async () => {
      starts++;
      if (starts <= script.failStarts) {
        emit('error', Object.assign(new Error('connection refused'), { code: 503 }));
        return;
      }
      // Like ListWatch: a list only while it has no resourceVersion; a restart resumes the watch from it.
      if (items.length === 0) {
        const result = await list();
        items = result.items;
        for (const item of items) emit('add', item);
        // The list worked, the watch request right after it was refused (a 429 from a busy API server).
        if (script.failWatchAfterList === true) emit('error', Object.assign(new Error('Too Many Requests'), { code: 429 }));
      }
    },
    stop: async () => {},
    get: () => undefined,
    list: () => items,
    starts: () => starts,
  } as never;
  return informer;
}

test('an informer that fails is restarted until it lists; then it is synced and its objects are listed', async () => {
  const script = { failStarts: 3 };
  let informer: ReturnType<typeof fakeInformer> | undefined;
  const changes: string[] = [];
  let restarts = 0;
  const sup = new InformerSupervisor<KubernetesObject>({
    name: 'test',
    list: async () => ({ apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'a', namespace: 'n' } }] }),
    create: (list) => (informer = fakeInformer(list, script)),
    onChange: (_verb, o) => changes.push(o.metadata?.name ?? ''),
    onRestart: () => restarts++,
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 10, maxMs: 40 },
  });
  assert.equal(sup.synced, false);
  sup.start();
  await Promise.race([sup.whenSynced(), sleep(2000).then(() => assert.fail('never synced'))]);
  assert.equal(sup.synced, true);
  assert.equal(informer?.starts(), 4);
  assert.equal(restarts, 3);
  assert.equal(sup.restarts, 3);
  assert.deepEqual(changes, ['a']);
  assert.deepEqual(sup.list().map((o) => o.metadata?.name), ['a']);
  await sup.stop();
});

test('a watch refused right after a successful list: the restart resumes the watch without a list, and that is synced', async () => {
  // Seen in a CI run: the RatePolicy informer listed, its watch got 429, the restart resumed from the list's
  // resourceVersion (no new list) and the supervisor waited for a list that never came: never synced, no table.
  const script = { failStarts: 0, failWatchAfterList: true };
  let informer: ReturnType<typeof fakeInformer> | undefined;
  let lists = 0;
  const sup = new InformerSupervisor<KubernetesObject>({
    name: 'test',
    list: async () => {
      lists++;
      return { apiVersion: 'v1', kind: 'List', metadata: { resourceVersion: '1' }, items: [{ metadata: { name: 'a', namespace: 'n' } }] };
    },
    create: (list) => (informer = fakeInformer(list, script)),
    onChange: () => {},
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 10, maxMs: 40 },
  });
  sup.start();
  await Promise.race([sup.whenSynced(), sleep(2000).then(() => assert.fail('never synced'))]);
  assert.equal(lists, 1, 'one list');
  assert.equal(informer?.starts(), 2, 'the failed watch, then the resumed one');
  assert.deepEqual(sup.list().map((o) => o.metadata?.name), ['a']);
  await sup.stop();
});

test('stop() cancels a pending restart', async () => {
  const script = { failStarts: 100 };
  let informer: ReturnType<typeof fakeInformer> | undefined;
  const sup = new InformerSupervisor<KubernetesObject>({
    name: 'test',
    list: async () => ({ apiVersion: 'v1', kind: 'List', metadata: {}, items: [] }),
    create: (list) => (informer = fakeInformer(list, script)),
    onChange: () => {},
    logger: pino({ level: 'silent' }),
    backoff: { initialMs: 30, maxMs: 30 },
  });
  sup.start();
  await sleep(5);
  await sup.stop();
  const starts = informer?.starts();
  await sleep(80);
  assert.equal(informer?.starts(), starts);
  assert.equal(sup.synced, false);
});
