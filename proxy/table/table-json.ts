// A routing table's JSON, produced a slice at a time and from cached pieces. Routes and backends are immutable and
// handed from one table to the next as the same objects, so each one is stringified once in its life; writing a
// 10k-route table then costs string joins, not a 5 MB JSON.stringify holding the event loop for tens of ms.
// The output is byte for byte JSON.stringify(table).
import type { RoutingTable } from './table-schema.ts';

const jsonOf = new WeakMap<object, string>();

/** JSON.stringify(item), computed once per object. */
export function itemJson(item: object): string {
  let text = jsonOf.get(item);
  if (text === undefined) jsonOf.set(item, (text = JSON.stringify(item)));
  return text;
}

/** The table's JSON in pieces of at most `itemsPerChunk` routes or backends each; joined, they are JSON.stringify(table). */
export function* tableJsonChunks(table: RoutingTable, itemsPerChunk = 256): Generator<string> {
  let text = '{';
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
    for (let i = 0; i < value.length; i++) {
      text += (i === 0 ? '' : ',') + itemJson(value[i] as object);
      if ((i + 1) % itemsPerChunk === 0) {
        yield text;
        text = '';
      }
    }
    text += ']';
  }
  yield `${text}}`;
}
