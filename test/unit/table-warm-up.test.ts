// The start-up warm-up must run the validators down the path a real table takes: samples that stopped being valid
// (a schema change) would warm only the code that refuses them.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { controllerMessage } from '../../proxy/table/stream-protocol.ts';
import { WARM_UP_SAMPLES } from '../../proxy/table/table-warm-up.ts';

test('the warm-up samples are a valid table part and delta', () => {
  for (const [name, message] of [['part', WARM_UP_SAMPLES.part], ['delta', WARM_UP_SAMPLES.delta]] as const) {
    const parsed = controllerMessage.safeParse(message);
    assert.ok(parsed.success, `${name}: ${JSON.stringify(parsed.error?.issues)}`);
  }
  const part = controllerMessage.parse(WARM_UP_SAMPLES.part);
  assert.ok(part.type === 'table-part');
  assert.deepEqual(part.routes.map((r) => r.path.type), ['exact', 'prefix', 'template']);
});

