// A routing table's JSON, produced a slice at a time from cached pieces. Routes and backends are immutable and handed
// from one table to the next as the same objects, so each one is serialised once in its life: writing a 10k-route
// table after a one-route change then costs a few writev calls over buffers that already exist, not a 5 MB
// JSON.stringify (tens of ms holding the event loop) nor 5 MB of fresh strings and buffers for the GC every time.
// Joined, the pieces are byte for byte JSON.stringify(table).
import type { RoutingTable } from './table-schema.ts';

const jsonOf = new WeakMap<object, string>();
const bytesOf = new WeakMap<object, Buffer>();
const COMMA = Buffer.from(',');

/** JSON.stringify(item), computed once per object. */
export function itemJson(item: object): string {
  let text = jsonOf.get(item);
  if (text === undefined) jsonOf.set(item, (text = JSON.stringify(item)));
  return text;
}

/** JSON.stringify(item) as UTF-8, computed once per object (its own cache: the proxy never needs the string). */
function itemBytes(item: object): Buffer {
  let bytes = bytesOf.get(item);
  if (bytes === undefined) bytesOf.set(item, (bytes = Buffer.from(JSON.stringify(item))));
  return bytes;
}

/**
 * JSON.stringify(item) as UTF-8, made afresh each time: for a writer that runs rarely and must not keep a copy of
 * every item alive for as long as the item lives (the controller's /debug/table).
 */
export function freshItemBytes(item: object): Buffer {
  return Buffer.from(JSON.stringify(item));
}

/**
 * The table's JSON as lists of buffers for writev, each list holding at most `itemsPerChunk` routes or backends (with
 * the commas between them: 256 items make 512 buffers, under Linux's IOV_MAX of 1024). Items come from the per-object
 * cache unless `bytesOfItem` says otherwise.
 */
export function* tableJsonChunks(table: RoutingTable, itemsPerChunk = 256, bytesOfItem: (item: object) => Buffer = itemBytes): Generator<Buffer[]> {
  let chunk: Buffer[] = [];
  let text = '{';
  const flushText = (): void => {
    if (text !== '') chunk.push(Buffer.from(text));
    text = '';
  };
  let first = true;
  for (const [key, value] of Object.entries(table)) {
    if (value === undefined) continue;
    text += `${first ? '' : ','}${JSON.stringify(key)}:`;
    first = false;
    if (!Array.isArray(value)) {
      text += JSON.stringify(value);
      continue;
    }
    text += '[';
    flushText();
    for (let i = 0; i < value.length; i++) {
      if (i > 0) chunk.push(COMMA);
      chunk.push(bytesOfItem(value[i] as object));
      if ((i + 1) % itemsPerChunk === 0) {
        yield chunk;
        chunk = [];
      }
    }
    text += ']';
  }
  text += '}';
  flushText();
  yield chunk;
}
