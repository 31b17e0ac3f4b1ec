// The ApiRoute checks a schema cannot express: regexes that compile (and are not obviously catastrophic),
// template syntax, rewrites that fit their matches, header changes that do not contradict each other,
// durations and sizes above zero, backend URLs without credentials. Each problem names its field.
import type { ApiRoute, RouteRule } from '../../crds/schemas/index.ts';
import { parseDurationMs, parseSizeBytes } from '../../crds/schemas/index.ts';
import type { FieldProblem } from './field-path.ts';
import { effectiveMatches, matchPath } from './effective-matches.ts';
import { parseTemplate, referencedParams, type TemplateParam } from './path-template.ts';
import { regexProblem } from './regex-safety.ts';
import { checkDirectResponse } from './direct-response-checks.ts';
import { checkRequestValidation } from './validation-compiler.ts';

export function checkApiRoute(route: ApiRoute): FieldProblem[] {
  const { spec } = route;
  const problems: FieldProblem[] = [];
  if (spec.basePath !== undefined && /[{}]/.test(spec.basePath)) {
    problems.push({ path: 'spec.basePath', message: 'must not contain "{" or "}"' });
  }
  problems.push(...checkTimeouts('spec.timeouts', spec.timeouts));
  // The HTTPS listener picks a certificate (and a client CA) by the SNI host: a route for any host has none to give.
  if ((spec.hosts ?? []).length === 0) {
    for (const field of ['secretName', 'clientCertificate'] as const) {
      if (spec.tls?.[field] !== undefined) problems.push({ path: `spec.tls.${field}`, message: 'needs spec.hosts (TLS settings are chosen by the SNI host name); routes for any host use the default certificate' });
    }
  }
  spec.rules.forEach((rule, i) => problems.push(...checkRule(rule, `spec.rules[${i}]`)));
  return problems;
}

function checkRule(rule: RouteRule, at: string): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const templates = new Map<number, TemplateParam[]>();
  effectiveMatches(rule).forEach((match, j) => {
    const m = `${at}.matches[${j}]`;
    const path = matchPath(match);
    if (path.type === 'Regex') {
      const p = regexProblem(path.value);
      if (p) problems.push({ path: `${m}.path.value`, message: p });
    } else if (path.type === 'Template') {
      const t = parseTemplate(path.value);
      if (t.ok) templates.set(j, t.params);
      else problems.push({ path: `${m}.path.value`, message: t.message });
    }
    for (const [field, list] of [['headers', match.headers], ['query', match.query]] as const) {
      list?.forEach((v, k) => {
        if (v.type !== 'Regex' || v.value === undefined) return;
        const p = regexProblem(v.value);
        if (p) problems.push({ path: `${m}.${field}[${k}].value`, message: p });
      });
    }
  });
  problems.push(...checkRewrite(rule, rule.rewrite, `${at}.rewrite`, at, templates));
  problems.push(...checkRewrite(rule, rule.redirect, `${at}.redirect`, at, templates));
  problems.push(...checkDirectResponse(rule.directResponse, `${at}.directResponse`));
  problems.push(...checkHeaderChanges(rule.requestHeaders, `${at}.requestHeaders`));
  problems.push(...checkHeaderChanges(rule.responseHeaders, `${at}.responseHeaders`));
  problems.push(...checkTimeouts(`${at}.timeouts`, rule.timeouts));
  problems.push(...checkWebSocket(`${at}.websocket`, rule.websocket));
  problems.push(...checkRequestValidation(rule.requestValidation, at));
  (rule.backends ?? []).forEach((b, k) => problems.push(...checkBackendUrl(b.url, `${at}.backends[${k}].url`)));
  rule.canary?.backends.forEach((b, k) => problems.push(...checkBackendUrl(b.url, `${at}.canary.backends[${k}].url`)));
  return problems;
}

/** A rewrite's (or a redirect's) path replacement, `field` naming where it sits, against the rule's matches. */
function checkRewrite(rule: RouteRule, rewrite: { replacePrefix?: string | undefined; replacePath?: string | undefined } | undefined, field: string, at: string, templates: Map<number, TemplateParam[]>): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const matches = effectiveMatches(rule);
  if (rewrite?.replacePrefix !== undefined) {
    matches.forEach((match, j) => {
      const type = matchPath(match).type;
      if (type !== 'Prefix') {
        problems.push({ path: `${field}.replacePrefix`, message: `only applies to Prefix matches, but ${at}.matches[${j}] is ${type}` });
      }
    });
  }
  const replacePath = rewrite?.replacePath;
  if (replacePath !== undefined) {
    for (const name of new Set(referencedParams(replacePath))) {
      matches.forEach((match, j) => {
        const params = templates.get(j);
        const type = matchPath(match).type;
        if (type !== 'Template') {
          problems.push({ path: `${field}.replacePath`, message: `uses {${name}} but ${at}.matches[${j}] is ${type}, not a Template` });
        } else if (params && !params.some((p) => p.name === name)) {
          problems.push({ path: `${field}.replacePath`, message: `uses {${name}}, which ${at}.matches[${j}].path.value does not define` });
        }
      });
    }
  }
  return problems;
}

type HeaderChanges = RouteRule['requestHeaders'];

/** Header names are case-insensitive: "X-A" and "x-a" in one change set would be applied in an arbitrary order. */
function checkHeaderChanges(changes: HeaderChanges, at: string): FieldProblem[] {
  if (!changes) return [];
  const problems: FieldProblem[] = [];
  const seen = new Map<string, string>();
  const claim = (name: string, field: string): void => {
    const lower = name.toLowerCase();
    const earlier = seen.get(lower);
    if (earlier) problems.push({ path: field, message: `header ${JSON.stringify(lower)} is also changed by ${earlier}` });
    else seen.set(lower, field);
  };
  for (const name of Object.keys(changes.set ?? {})) claim(name, `${at}.set[${JSON.stringify(name)}]`);
  for (const name of Object.keys(changes.add ?? {})) claim(name, `${at}.add[${JSON.stringify(name)}]`);
  // Removing a header twice is harmless; removing one that is also set or added is a contradiction.
  const removed = new Set<string>();
  changes.remove?.forEach((name, k) => {
    if (!removed.has(name.toLowerCase())) claim(name, `${at}.remove[${k}]`);
    removed.add(name.toLowerCase());
  });
  return problems;
}

function checkTimeouts(at: string, timeouts: RouteRule['timeouts']): FieldProblem[] {
  if (!timeouts) return [];
  const problems: FieldProblem[] = [];
  for (const field of ['connect', 'request', 'idle'] as const) {
    const text = timeouts[field];
    if (text !== undefined && parseDurationMs(text) < 1) problems.push({ path: `${at}.${field}`, message: 'must be at least 1ms' });
  }
  return problems;
}

function checkWebSocket(at: string, ws: RouteRule['websocket']): FieldProblem[] {
  if (!ws) return [];
  const problems: FieldProblem[] = [];
  for (const field of ['idleTimeout', 'maxDuration'] as const) {
    const text = ws[field];
    if (text !== undefined && parseDurationMs(text) < 1) problems.push({ path: `${at}.${field}`, message: 'must be at least 1ms' });
  }
  if (ws.maxMessageSize !== undefined && parseSizeBytes(ws.maxMessageSize) < 1) problems.push({ path: `${at}.maxMessageSize`, message: 'must be at least 1 byte' });
  return problems;
}

function checkBackendUrl(url: string | undefined, at: string): FieldProblem[] {
  if (url === undefined) return [];
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return [{ path: at, message: 'is not a valid URL' }];
  }
  // Credentials would end up in backend ids, logs and status messages.
  if (parsed.username !== '' || parsed.password !== '') return [{ path: at, message: 'must not contain credentials' }];
  return [];
}
