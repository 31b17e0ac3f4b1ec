// applyListDeltaIndexed (the proxy's small-delta path: native scans instead of a walk) gives applyListDelta's result:
// the same list, or a refusal where it refuses; over random deltas, valid and broken ones.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { applyListDelta, applyListDeltaIndexed, type ListDelta } from '../../proxy/table/list-delta.ts';
import { prng } from '../support/seeded-random.ts';


interface Item {
  id: string;
  v: number;
}

test('the indexed list delta agrees with the walk, on good and bad deltas', () => {
  const rand = prng(7);
  let refused = 0;
  for (let round = 0; round < 3000; round++) {
    const base: Item[] = Array.from({ length: 1 + Math.floor(rand() * 30) }, (_, i) => ({ id: `i${i}`, v: 0 }));
    const byId = new Map(base.map((item) => [item.id, item]));
    const someId = (): string => (rand() < 0.9 ? `i${Math.floor(rand() * (base.length + 3))}` : `n${Math.floor(rand() * 4)}`);
    const delta: ListDelta<Item> = { removed: [], changed: [], added: [] };
    for (let n = Math.floor(rand() * 3); n > 0; n--) delta.removed.push(someId());
    for (let n = Math.floor(rand() * 3); n > 0; n--) delta.changed.push({ id: someId(), v: round });
    for (let n = Math.floor(rand() * 4); n > 0; n--) {
      const after = rand() < 0.15 ? null : rand() < 0.3 && delta.added.length > 0 ? delta.added[Math.floor(rand() * delta.added.length)]!.item.id : someId();
      delta.added.push({ after, item: { id: rand() < 0.8 ? `n${Math.floor(rand() * 6)}` : someId(), v: round } });
    }
    const walked = applyListDelta(base, delta, 'item');
    const indexed = applyListDeltaIndexed(base, delta, 'item', (id) => byId.get(id));
    assert.equal(indexed.ok, walked.ok, `round ${round}: ${JSON.stringify(delta)} → ${JSON.stringify(walked)} vs ${JSON.stringify(indexed)}`);
    if (walked.ok && indexed.ok) assert.deepEqual(indexed.items, walked.items, `round ${round}`);
    else refused++;
  }
  assert.ok(refused > 100 && refused < 2900, `both kinds were tried (${refused} refused)`);
});
