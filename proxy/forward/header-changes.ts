// A route's request/response header changes: set replaces, add appends another value, remove deletes.
// Remove is applied last so a route that both adds and removes a name ends without it.
import type { TableHeaderChanges } from '../table/table-schema.ts';

export type HeaderBag = Record<string, string | string[] | undefined>;

/** Changes with nothing in them become null at build time, so the hot path skips them with one check. */
export function compactChanges(changes: TableHeaderChanges): TableHeaderChanges | null {
  return changes.set.length + changes.add.length + changes.remove.length === 0 ? null : changes;
}

export function applyHeaderChanges(headers: HeaderBag, changes: TableHeaderChanges): void {
  for (const [name, value] of changes.set) headers[name] = value;
  for (const [name, value] of changes.add) {
    const existing = headers[name];
    if (existing === undefined) headers[name] = value;
    else if (typeof existing === 'string') headers[name] = [existing, value];
    else headers[name] = [...existing, value];
  }
  for (const name of changes.remove) delete headers[name];
}
