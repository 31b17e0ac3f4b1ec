// The directResponse checks a schema cannot express: templates that parse (known variables only), header values
// without control characters, no framing fields, one spelling per header name. Each problem names its field.
import type { RouteRule } from '../../crds/schemas/index.ts';
import { parseTemplate } from '../../proxy/direct/response-template.ts';
import { FRAMING_HEADERS } from '../../proxy/table/table-schema.ts';
import type { FieldProblem } from './field-path.ts';
import { bodyEscape } from './direct-response-compiler.ts';

// eslint-disable-next-line no-control-regex
const CONTROL_RE = /[\x00-\x08\x0a-\x1f\x7f]/;

export function checkDirectResponse(direct: RouteRule['directResponse'], at: string): FieldProblem[] {
  if (direct === undefined) return [];
  const problems: FieldProblem[] = [];
  const seen = new Set<string>();
  for (const [name, value] of Object.entries(direct.headers ?? {})) {
    const field = `${at}.headers[${JSON.stringify(name)}]`;
    const lower = name.toLowerCase();
    if (FRAMING_HEADERS.has(lower)) problems.push({ path: field, message: `${lower} is set by the gateway` });
    if (seen.has(lower)) problems.push({ path: field, message: `header ${JSON.stringify(lower)} is set twice (names are case-insensitive)` });
    seen.add(lower);
    if (CONTROL_RE.test(value)) problems.push({ path: field, message: 'must not contain control characters (CR, LF, …)' });
    const t = parseTemplate(value, 'header');
    if (!t.ok) problems.push({ path: field, message: t.error });
  }
  const inline = direct.body?.inline;
  if (inline !== undefined) {
    const t = parseTemplate(inline, bodyEscape(direct.headers));
    if (!t.ok) problems.push({ path: `${at}.body.inline`, message: t.error });
  }
  return problems;
}
