// VersionedMap against a plain Map as the model: random sets and deletes over many versions, compacted now and then;
// every version keeps answering as it did when it was made (a request holds one version for its whole life).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VersionedMap } from '../../proxy/router/versioned-map.ts';
import { TimeSlicer } from '../../proxy/runtime/time-slicer.ts';
import { prng } from '../support/seeded-random.ts';


function assertSame(map: VersionedMap<string, number>, model: ReadonlyMap<string, number>, what: string): void {
  assert.equal(map.size, model.size, `${what}: size`);
  assert.deepEqual(new Map(map), new Map(model), `${what}: entries`);
  assert.deepEqual([...map.keys()].sort(), [...model.keys()].sort(), `${what}: keys`);
  for (let k = 0; k < 400; k++) {
    assert.equal(map.get(`k${k}`), model.get(`k${k}`), `${what}: get k${k}`);
    assert.equal(map.has(`k${k}`), model.has(`k${k}`), `${what}: has k${k}`);
  }
}

for (const seed of [1, 2, 3]) {
  test(`every version of a VersionedMap answers as a plain Map would (seed ${seed})`, async () => {
    const rand = prng(seed);
    const first = new Map(Array.from({ length: 300 }, (_, i) => [`k${i}`, i] as [string, number]));
    let map = VersionedMap.of(new Map(first));
    let model = new Map(first);
    const history: Array<{ map: VersionedMap<string, number>; model: Map<string, number> }> = [];
    let compactions = 0;
    for (let step = 0; step < 150; step++) {
      const changes: Array<[string, number | undefined]> = [];
      for (let n = Math.floor(rand() * 8); n > 0; n--) {
        const key = `k${Math.floor(rand() * 400)}`;
        const value = rand() < 0.4 ? undefined : step * 1000 + n;
        changes.push([key, value]);
      }
      map = map.with(changes);
      model = new Map(model);
      for (const [key, value] of changes) {
        if (value === undefined) model.delete(key);
        else model.set(key, value);
      }
      if (map.wantsCompaction) {
        map = await map.compacted(new TimeSlicer(0));
        compactions++;
      }
      assertSame(map, model, `step ${step}`);
      history.push({ map, model });
    }
    assert.ok(compactions > 0, 'the overlay was folded into a new base at least once');
    for (const [i, { map: old, model: oldModel }] of history.entries()) assertSame(old, oldModel, `version ${i}, read again at the end`);
  });
}
