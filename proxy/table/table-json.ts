// A routing table's JSON, produced a slice at a time (the controller's /debug/table streams it: a 50k-route table is
// ~24 MB, not to be one JSON.stringify holding the event loop), and each item's JSON computed once per object for the
// controller's delta (routes and backends are immutable and handed from one table to the next as the same objects).
// Joined, the slices are byte for byte JSON.stringify(table).
import type { RoutingTable } from './table-schema.ts';

const jsonOf = new WeakMap<object, string>();
const COMMA = Buffer.from(',');

/** JSON.stringify(item), computed once per object. */
export function itemJson(item: object): string {
  let text = jsonOf.get(item);
  if (text === undefined) jsonOf.set(item, (text = JSON.stringify(item)));
  return text;
}

/**
 * JSON.stringify(item) as UTF-8, made afresh each time: a writer that runs rarely must not keep a copy of every item
 * alive for as long as the item lives.
 */
export function freshItemBytes(item: object): Buffer {
  return Buffer.from(JSON.stringify(item));
}

/**
 * The table's JSON as lists of buffers, each list holding at most `itemsPerChunk` routes or backends (with the commas
 * between them: 256 items make 512 buffers, under Linux's IOV_MAX of 1024, for a writer using writev).
 */
export function* tableJsonChunks(table: RoutingTable, itemsPerChunk = 256, bytesOfItem: (item: object) => Buffer = freshItemBytes): Generator<Buffer[]> {
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
