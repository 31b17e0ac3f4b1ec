// A parsed route holds once what most routes hold the same. JSON.parse (and zod after it) makes a new array, object
// or string for every route, and at 10k routes those copies are a few MB of an idle proxy's heap (docs/fleet.md,
// Memory):
//
// - empty lists (methods, headers, query, hosts: most routes match on none) and empty header changes (most change
//   none) become one shared empty value;
// - hosts, timeouts, retries and backend ids equal to the previous parsed route's become that route's values
//   (consecutive routes are mostly an ApiRoute's rules, or carry the defaults). One slot: nothing is kept beyond the
//   last route parsed.
//
// Shared values are frozen: code writing into one would throw instead of changing every route. Runs once per parsed
// route, as one zod transform (a transform per field cost ~30% more parse time at 50k routes).

interface HeaderChanges {
  set: unknown[];
  add: unknown[];
  remove: unknown[];
}

interface Timeouts {
  connectMs: number;
  requestMs: number;
  idleMs: number;
}

interface RouteParts {
  hosts: string[];
  methods: string[];
  headers: unknown[];
  query: unknown[];
  requestHeaders: HeaderChanges;
  responseHeaders: HeaderChanges;
  timeouts: Timeouts;
  retries: { attempts: number };
  backends?: Array<{ backend: string }> | undefined;
}

const EMPTY_LIST: never[] = Object.freeze([]) as never[];
const NO_HEADER_CHANGES: HeaderChanges = Object.freeze({ set: EMPTY_LIST, add: EMPTY_LIST, remove: EMPTY_LIST });

let lastHosts: string[] = EMPTY_LIST;
let lastTimeouts: Timeouts | null = null;
let lastRetries: { attempts: number } | null = null;
let lastBackend = '';

/** Replaces `route`'s parts with shared equal ones, in place (a fresh parse result); returns it. */
export function shareRouteParts<R extends RouteParts>(route: R): R {
  if (route.methods.length === 0) route.methods = EMPTY_LIST;
  if (route.headers.length === 0) route.headers = EMPTY_LIST;
  if (route.query.length === 0) route.query = EMPTY_LIST;
  if (noChanges(route.requestHeaders)) route.requestHeaders = NO_HEADER_CHANGES;
  if (noChanges(route.responseHeaders)) route.responseHeaders = NO_HEADER_CHANGES;
  route.hosts = sameHosts(route.hosts);

  const t = route.timeouts;
  if (lastTimeouts !== null && lastTimeouts.connectMs === t.connectMs && lastTimeouts.requestMs === t.requestMs && lastTimeouts.idleMs === t.idleMs) route.timeouts = lastTimeouts;
  else lastTimeouts = Object.freeze(t);
  if (lastRetries !== null && lastRetries.attempts === route.retries.attempts) route.retries = lastRetries;
  else lastRetries = Object.freeze(route.retries);

  for (const b of route.backends ?? EMPTY_LIST) {
    if (b.backend === lastBackend) b.backend = lastBackend;
    else lastBackend = b.backend;
  }
  return route;
}

function noChanges(c: HeaderChanges): boolean {
  return c.set.length === 0 && c.add.length === 0 && c.remove.length === 0;
}

function sameHosts(hosts: string[]): string[] {
  if (hosts.length === 0) return EMPTY_LIST;
  const last = lastHosts;
  if (last.length === hosts.length && hosts.every((h, i) => h === last[i])) return last;
  lastHosts = Object.freeze(hosts) as string[];
  return hosts;
}
