// The direct-response template: parsed once, rendered per request, substituted values escaped for where they land.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseTemplate, type TemplateEscape, type TemplateRequest } from '../../proxy/direct/response-template.ts';

const REQ: TemplateRequest = {
  path: '/a/b%20c',
  query: 'q=%3Cb%3E%22x%22&crlf=a%0D%0Ab&sp=a+b&emoji=%F0%9F%98%80',
  headers: { 'x-v': `it's <"me"> & \\`, accept: ['a', 'b'] as unknown as string },
  consumer: 'alice',
};

function render(text: string, escape: TemplateEscape, req: TemplateRequest = REQ): string {
  const t = parseTemplate(text, escape);
  if (!t.ok) throw new Error(t.error);
  return t.template.render(req);
}

test('variables, a literal ${ and a lone $; missing values are empty', () => {
  assert.equal(render('${request.path} ${request.query.sp} ${consumer} $${request.path} $5 ${request.query.none}|${request.header.X-None}', 'none'), '/a/b%20c a b alice ${request.path} $5 |');
  assert.equal(render('${consumer}', 'none', { ...REQ, consumer: null }), '');
  assert.equal(render('${request.header.Accept}', 'none'), 'a, b', 'header names are case-insensitive; several values joined');
  const fixed = parseTemplate('no placeholders, $${ only', 'json');
  assert.ok(fixed.ok && fixed.template.fixed === 'no placeholders, ${ only');
});

test('escaping by where the value lands; the literal parts are never touched', () => {
  assert.equal(render('{"v":"${request.header.x-v}"}', 'json'), String.raw`{"v":"it's \u003c\"me\"\u003e & \\"}`);
  assert.deepEqual(JSON.parse(render('{"v":"${request.query.crlf}","q":"${request.query.q}"}', 'json')), { v: 'a\r\nb', q: '<b>"x"' });
  assert.equal(render('<i>${request.header.x-v}</i>', 'html'), '<i>it&#39;s &lt;&quot;me&quot;&gt; &amp; \\</i>');
  assert.equal(render('${request.query.q}', 'none'), '<b>"x"');
  assert.equal(render('v=${request.query.crlf}; ${request.query.emoji}', 'header'), 'v=a%0D%0Ab; %F0%9F%98%80');
  assert.equal(render('${request.header.x-v}', 'header'), `it's <"me"> & \\`, 'visible ASCII stays as it is in a header');
  assert.equal(render('${request.query.s}', 'header', { ...REQ, query: 's=%ED%A0%80' }), '%ED%A0%80', 'an undecodable value is kept as sent');
});

test('unknown variables and an unclosed ${ are refused with a message', () => {
  for (const [text, message] of [
    ['${request.method}', /unknown variable "\$\{request\.method\}"/],
    ['${request.header.}', /unknown variable/],
    ['${request.header.bad name}', /unknown variable/],
    ['a ${consumer', /unclosed "\$\{" at offset 2/],
  ] as const) {
    const t = parseTemplate(text, 'none');
    assert.equal(t.ok, false, text);
    if (!t.ok) assert.match(t.error, message);
  }
});
