// The table's shared policies (Authorizers, RatePolicies) built by id, keeping the previous table's built form of
// every one whose compiled JSON did not change, so what it carries (caches, connections, counters' instruments)
// outlives the swap.
export function keepUnchanged<C extends { id: string }, B extends { json: string }>(
  list: readonly C[],
  previous: ReadonlyMap<string, B>,
  build: (config: C, json: string) => B,
): Map<string, B> {
  const out = new Map<string, B>();
  for (const config of list) {
    const json = JSON.stringify(config);
    const kept = previous.get(config.id);
    out.set(config.id, kept !== undefined && kept.json === json ? kept : build(config, json));
  }
  return out;
}
