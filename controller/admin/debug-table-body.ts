// The /debug/table body, a slice at a time: at 10k routes the page is ~20 MB, which as one JSON.stringify was a 20 MB
// string (plus its UTF-8 copy) per request. Items are serialised as they are written and not cached: the page is
// asked for rarely, and a cached copy of every route would stay in the controller's memory for as long as the route
// lives. Joined, the slices are byte for byte `${JSON.stringify(page)}\n` with the fields below, in this order.
import { freshItemBytes, tableJsonChunks } from '../../proxy/table/table-json.ts';
import type { ResourceStatus } from '../compile/compile-types.ts';
import type { CompiledState } from '../controller-main.ts';

/** Routes, backends or statuses per slice: ~100–200 KB each. */
const ITEMS_PER_SLICE = 256;

export function* debugTableBody(state: CompiledState, leader: boolean): Generator<Buffer> {
  const head = JSON.stringify({ version: state.table.version, sequence: state.sequence, compiledAt: new Date(state.compiledAt).toISOString(), leader });
  yield Buffer.from(`${head.slice(0, -1)},"table":`);
  for (const chunk of tableJsonChunks(state.table, ITEMS_PER_SLICE, redactedItemBytes)) yield Buffer.concat(chunk);
  // Statuses never carry Secret values (conditions only).
  yield* statusSlices(state.statuses);
  yield Buffer.from('}\n');
}

/** A certificate's private key never leaves the process this way: the page shows that there is one, not what it is. */
export const REDACTED = '[redacted]';

function redactedItemBytes(item: object): Buffer {
  return 'keyPem' in item ? freshItemBytes({ ...item, keyPem: REDACTED }) : freshItemBytes(item);
}

function* statusSlices(statuses: readonly ResourceStatus[]): Generator<Buffer> {
  let text = ',"statuses":[';
  for (let i = 0; i < statuses.length; i++) {
    text += `${i > 0 ? ',' : ''}${JSON.stringify(statuses[i])}`;
    if ((i + 1) % ITEMS_PER_SLICE === 0) {
      yield Buffer.from(text);
      text = '';
    }
  }
  yield Buffer.from(`${text}]`);
}
