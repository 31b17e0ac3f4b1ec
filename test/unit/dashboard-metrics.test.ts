// The Grafana dashboard the chart ships (charts/gatehouse/dashboards/gatehouse.json) and the metrics table of
// docs/operations.md name only metrics the code registers: every metric a dashboard query or variable reads is a
// sample the proxy's or the controller's registry exposes, and every series the docs table lists is registered.
// A metric renamed in the code without the dashboard or the docs fails here.
import { before, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dashboardExpressions, promqlMetricNames } from '../support/promql-metric-names.ts';
import { registeredMetricNames, type RegisteredMetrics } from '../support/registered-metric-names.ts';

const DASHBOARD = fileURLToPath(new URL('../../charts/gatehouse/dashboards/gatehouse.json', import.meta.url));
const OPERATIONS = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));

let registered: RegisteredMetrics;
before(async () => {
  registered = await registeredMetricNames();
});

/** "<name> in <expr>" for each metric name an expression reads that is not in `known`. */
function unknownNames(expressions: readonly string[], known: ReadonlySet<string>): string[] {
  return expressions.flatMap((expr) => promqlMetricNames(expr).filter((n) => !known.has(n)).map((n) => `${n} in ${expr}`));
}

test('the extractor finds metric names, not functions, labels, strings, keywords, variables or durations', () => {
  const expr =
    'histogram_quantile(0.99, sum by (route, le) (rate(a_bucket{route=~"$route", kind="not_a_metric"}[$__rate_interval]))) ' +
    '/ on (pod) group_left max(b offset 5m) > bool 1e3 and ignoring(x) c_total[1h:5m]';
  assert.deepEqual(promqlMetricNames(expr).sort(), ['a_bucket', 'b', 'c_total']);
  assert.deepEqual(promqlMetricNames('time() - min(d{namespace=~"${namespace}"})'), ['d']);
  assert.deepEqual(promqlMetricNames('sum(rate(e[5m])) by (le)'), ['e']);
  assert.deepEqual(dashboardExpressions({ templating: { list: [{ type: 'query', query: { query: 'label_values(f{a="b"}, route)' } }, { type: 'query', query: 'label_values(namespace)' }] } }), ['f{a="b"}']);
});

test('every metric the dashboard reads is registered by the code (and a misspelt one would be caught)', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as unknown;
  const expressions = dashboardExpressions(dashboard);
  assert.ok(expressions.length >= 25, `${expressions.length} expressions found`);
  assert.deepEqual(unknownNames(expressions, registered.samples), [], 'dashboard queries name metrics no registry has');

  // The check itself: a typo, and a histogram's base name (it has no samples of its own), are both refused.
  assert.deepEqual(unknownNames(['sum(rate(gatehose_requests_total[5m]))'], registered.samples), ['gatehose_requests_total in sum(rate(gatehose_requests_total[5m]))']);
  assert.equal(unknownNames(['rate(gatehouse_added_latency_seconds[5m])'], registered.samples).length, 1);

  // What the issue asks the dashboard to show is there.
  const used = new Set(expressions.flatMap(promqlMetricNames));
  for (const name of [
    'gatehouse_requests_total',
    'gatehouse_added_latency_seconds_bucket',
    'gatehouse_upstream_response_seconds_bucket',
    'gatehouse_upstream_errors_total',
    'gatehouse_authorizer_decisions_total',
    'gatehouse_rate_limit_decisions_total',
    'gatehouse_redis_up',
    'gatehouse_table_info',
    'gatehouse_table_last_apply_timestamp_seconds',
    'gatehouse_table_applies_total',
    'gatehouse_controller_compile_seconds_bucket',
    'gatehouse_controller_fleet_proxies',
    'gatehouse_controller_leader',
    'gatehouse_websocket_connections',
  ]) {
    assert.ok(used.has(name), `the dashboard shows ${name}`);
  }
});

test('every panel and query variable reads the data source picked in the ${datasource} variable', () => {
  const dashboard = JSON.parse(readFileSync(DASHBOARD, 'utf8')) as {
    panels: Array<{ type: string; title: string; datasource?: { uid?: string }; targets?: Array<{ datasource?: { uid?: string } }> }>;
    templating: { list: Array<{ name: string; type: string; query?: unknown; datasource?: { uid?: string } }> };
  };
  assert.deepEqual(dashboard.templating.list.find((v) => v.name === 'datasource'), { name: 'datasource', label: 'Data source', type: 'datasource', query: 'prometheus', current: {}, hide: 0, refresh: 1, regex: '', options: [] });
  for (const p of dashboard.panels.filter((x) => x.type !== 'row')) {
    assert.equal(p.datasource?.uid, '${datasource}', p.title);
    for (const t of p.targets ?? []) assert.equal(t.datasource?.uid, '${datasource}', p.title);
  }
  for (const v of dashboard.templating.list.filter((x) => x.type === 'query')) assert.equal(v.datasource?.uid, '${datasource}', v.name);
});

test("every series in docs/operations.md's metrics table is registered by the code", () => {
  const text = readFileSync(OPERATIONS, 'utf8');
  const section = text.slice(text.indexOf('## Health and metrics'), text.indexOf('\n## ', text.indexOf('## Health and metrics') + 1));
  const rows = section.split('\n').filter((l) => l.startsWith('| `'));
  assert.ok(rows.length >= 10, `${rows.length} rows in the metrics table`);
  const documented = rows.flatMap((row) => [...(row.split('|')[1] ?? '').matchAll(/`([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{[^`]*\})?`/g)].map((m) => m[1] as string));
  assert.ok(documented.length >= rows.length);
  assert.deepEqual(documented.filter((n) => !registered.metrics.has(n)), [], 'the docs table names metrics no registry has');
});
