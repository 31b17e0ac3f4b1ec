// The compiler's own pieces and edge cases the golden files do not show: metadata agreement, duplicate keys,
// a bad lastAccepted entry, regex safety, template syntax, the table version.
import { strict as assert } from 'node:assert';
import { describe, test } from 'node:test';
import { compile } from '../../controller/compile/compile.ts';
import { parseTemplate, templateShape } from '../../controller/compile/path-template.ts';
import { regexProblem } from '../../controller/compile/regex-safety.ts';
import { stableJson } from '../../controller/compile/stable-json.ts';
import { tableVersion } from '../../controller/compile/table-hash.ts';
import { formatFieldPath } from '../../controller/compile/field-path.ts';
import { apiRoute } from './compile-fixtures.ts';

const simpleSpec = { rules: [{ backends: [{ url: 'http://a.internal' }] }] };

describe('validation', () => {
  test('metadata must agree with where the source listed the resource', () => {
    const r = apiRoute('a', simpleSpec);
    const out = compile({ resources: [{ ...r, name: 'b', namespace: 'other' }] });
    const accepted = out.statuses[0]?.conditions.find((c) => c.type === 'Accepted');
    assert.equal(accepted?.status, 'False');
    assert.match(accepted?.message ?? '', /^metadata\.name: is "a" but the resource was listed as "b"; metadata\.namespace: is "default" but the resource was listed in "other"/);
    assert.equal(out.table.routes.length, 0);
  });

  test('a resource listed twice is invalid (which copy wins would depend on input order)', () => {
    const a = { ...apiRoute('dup', simpleSpec), origin: 'b.yaml:1' };
    const b = { ...apiRoute('dup', { rules: [{ backends: [{ url: 'http://b.internal' }] }] }), origin: 'a.yaml:3' };
    const out = compile({ resources: [a, b] });
    assert.equal(out.statuses.length, 1);
    assert.equal(out.statuses[0]?.conditions.find((c) => c.type === 'Accepted')?.message, 'ApiRoute default/dup is defined 2 times (a.yaml:3, b.yaml:1); not served');
    assert.equal(out.table.routes.length, 0);
    assert.equal(stableJson(compile({ resources: [b, a] })), stableJson(out));
  });

  test('an invalid lastAccepted entry is not served', () => {
    const broken = apiRoute('a', { rules: [] });
    const out = compile({ resources: [broken], lastAccepted: new Map([['ApiRoute/default/a', { nonsense: true }]]) });
    assert.equal(out.table.routes.length, 0);
    assert.equal(out.accepted.size, 0);
    assert.match(out.statuses[0]?.conditions[0]?.message ?? '', /not served$/);
  });

  test('accepted holds the validated objects (defaults filled), which round-trip as lastAccepted', () => {
    const out = compile({ resources: [apiRoute('a', simpleSpec)] });
    const obj = out.accepted.get('ApiRoute/default/a') as { spec: { stripBasePath: boolean; rules: { backends: { weight: number }[] }[] } };
    assert.equal(obj.spec.stripBasePath, true);
    assert.equal(obj.spec.rules[0]?.backends[0]?.weight, 1);
    const again = compile({ resources: [apiRoute('a', { rules: [] })], lastAccepted: out.accepted });
    assert.equal(again.table.version, out.table.version);
  });

  test('status carries generation as observedGeneration on every condition', () => {
    const r = apiRoute('a', simpleSpec);
    (r.object as { metadata: Record<string, unknown> }).metadata['generation'] = 9;
    const s = compile({ resources: [r] }).statuses[0];
    assert.equal(s?.generation, 9);
    assert.ok(s?.conditions.every((c) => c.observedGeneration === 9));
  });
});

describe('regex safety', () => {
  test('valid patterns pass', () => {
    for (const p of ['/orders/[0-9]+', '/a(b|c)*', 'json|xml', '/x/(?<id>[^/]+)', '[(+*]+', '\\(a+\\)+', '/(ab){2,5}']) assert.equal(regexProblem(p), undefined, p);
  });
  test('patterns that do not compile are reported without repeating the pattern', () => {
    assert.equal(regexProblem('/a/('), 'is not a valid regular expression: Unterminated group');
  });
  test('nested unbounded quantifiers are rejected', () => {
    for (const p of ['(a+)+', '/(x*y)*', '(?:.*,){2,}', '((ab)+c)*', '(a|b+)+$']) assert.match(regexProblem(p) ?? '', /nested quantifiers/, p);
  });
});

describe('path templates', () => {
  test('accepts params, mixed segments and a trailing greedy param', () => {
    assert.deepEqual(parseTemplate('/users/{id}/orders/{orderId}'), { ok: true, params: [{ name: 'id', greedy: false }, { name: 'orderId', greedy: false }] });
    assert.deepEqual(parseTemplate('/docs/{name}.json'), { ok: true, params: [{ name: 'name', greedy: false }] });
    assert.deepEqual(parseTemplate('/files/{proxy+}'), { ok: true, params: [{ name: 'proxy', greedy: true }] });
  });
  test('rejects bad shapes', () => {
    for (const t of ['/a/{id}/{id}', '/a/{p+}/b', '/a/x{p+}', '/a/{a}{b}', '/a/{}', '/a/{1x}', '/a//b', '/a/{id', 'a/{id}']) {
      assert.equal(parseTemplate(t).ok, false, t);
    }
  });
  test('shape ignores parameter names', () => {
    assert.equal(templateShape('/u/{id}/f/{rest+}'), templateShape('/u/{userId}/f/{path+}'));
    assert.notEqual(templateShape('/u/{id}'), templateShape('/u/{id+}'));
  });
});

describe('table version and field paths', () => {
  test('version is the hash of the table content without the version', () => {
    const { table } = compile({ resources: [apiRoute('a', simpleSpec)] });
    const { version, ...content } = table;
    assert.equal(version, tableVersion(content));
    assert.match(version, /^[0-9a-f]{32}$/);
  });
  test('an empty input compiles to an empty table', () => {
    const out = compile({ resources: [] });
    assert.deepEqual(out.table.routes, []);
    assert.deepEqual(out.statuses, []);
  });
  test('field paths read like the manifest', () => {
    assert.equal(formatFieldPath(['spec', 'rules', 1, 'backends']), 'spec.rules[1].backends');
    assert.equal(formatFieldPath(['spec', 'set', 'Bad Header']), 'spec.set["Bad Header"]');
    assert.equal(formatFieldPath([]), '');
  });
});
