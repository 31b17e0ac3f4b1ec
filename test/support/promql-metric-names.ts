// The metric names a PromQL expression reads, to check a dashboard's queries against the metrics the code registers.
// Not a PromQL parser: it removes what cannot be a metric name — strings, label matchers {…}, ranges and subqueries
// […], grouping lists (by, without, on, ignoring, group_left, group_right (…)), Grafana variables, numbers and
// durations — and every identifier left that is not called as a function or a keyword is a metric name.

const KEYWORDS = new Set(['by', 'without', 'on', 'ignoring', 'group_left', 'group_right', 'bool', 'and', 'or', 'unless', 'offset', 'atan2', 'inf', 'nan']);

export function promqlMetricNames(expr: string): string[] {
  const s = expr
    .replace(/"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|`[^`]*`/g, ' ')
    .replace(/\$\{[^}]*\}|\$\w+/g, ' ')
    .replace(/\{[^}]*\}/g, ' ')
    .replace(/\[[^\]]*\]/g, ' ')
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/gi, ' ');
  const names = new Set<string>();
  // A token starting with a digit is a number or a duration (0.99, 1e3, 5m), never a name.
  for (const m of s.matchAll(/[0-9][0-9a-zA-Z_.]*|[a-zA-Z_:][a-zA-Z0-9_:]*/g)) {
    const token = m[0];
    if (/^[0-9]/.test(token) || KEYWORDS.has(token.toLowerCase())) continue;
    const after = s.slice((m.index ?? 0) + token.length);
    if (/^\s*\(/.test(after)) continue; // a function
    names.add(token);
  }
  return [...names];
}

/**
 * Every PromQL expression of a Grafana dashboard: the panels' targets (rows' nested panels too) and the query
 * variables, whose `label_values(metric{…}, label)` and `query_result(expr)` forms are Grafana's, not PromQL.
 */
export function dashboardExpressions(dashboard: unknown): string[] {
  const out: string[] = [];
  const d = dashboard as { panels?: Panel[]; templating?: { list?: Array<{ type?: string; query?: unknown }> } };
  const walk = (panels: Panel[] | undefined): void => {
    for (const p of panels ?? []) {
      for (const t of p.targets ?? []) if (typeof t.expr === 'string') out.push(t.expr);
      walk(p.panels);
    }
  };
  walk(d.panels);
  for (const v of d.templating?.list ?? []) {
    if (v.type !== 'query') continue;
    const q = typeof v.query === 'string' ? v.query : (v.query as { query?: unknown } | undefined)?.query;
    if (typeof q !== 'string') continue;
    const labelValues = /^\s*label_values\((.*),\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/s.exec(q);
    const queryResult = /^\s*query_result\((.*)\)\s*$/s.exec(q);
    if (labelValues !== null) out.push(labelValues[1] as string);
    else if (queryResult !== null) out.push(queryResult[1] as string);
    else if (!/^\s*label_values\(\s*[a-zA-Z_][a-zA-Z0-9_]*\s*\)\s*$/.test(q)) out.push(q); // label_values(label) reads no metric
  }
  return out;
}

interface Panel {
  targets?: Array<{ expr?: unknown }>;
  panels?: Panel[];
}
