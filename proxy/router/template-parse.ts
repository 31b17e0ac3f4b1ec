// Parses a path template ("/users/{id}", "/files/{path+}", "/docs/{name}.json") into segments, rejecting
// shapes the trie cannot match unambiguously. Segments are split on "/" exactly as request paths are.

export type TemplateSegment =
  | { readonly kind: 'static'; readonly text: string }
  | { readonly kind: 'param'; readonly name: string }
  /** Static text around one param in one segment: `{id}.json`, `v{major}`. */
  | { readonly kind: 'mixed'; readonly name: string; readonly prefix: string; readonly suffix: string }
  /** `{name+}`: the rest of the path (one or more segments); only as the last segment. */
  | { readonly kind: 'greedy'; readonly name: string };

export interface ParsedTemplate {
  readonly segments: readonly TemplateSegment[];
  /** Param names in capture order (the order of their segments). */
  readonly names: readonly string[];
}

const NO_NAMES: readonly string[] = Object.freeze([]);

export function parseTemplate(template: string, routeId: string): ParsedTemplate {
  const fail = (why: string): never => {
    throw new Error(`route ${routeId}: invalid path template ${JSON.stringify(template)}: ${why}`);
  };
  if (!template.startsWith('/')) fail('it must start with "/"');
  const parts = template.slice(1).split('/');
  // Kept by every template route: built at their final size (an array filled by push from empty reserves 17 slots).
  const segments = new Array<TemplateSegment>(parts.length);
  const names: string[] = [];
  parts.forEach((part, i) => {
    const seg = parseSegment(part, fail);
    if (seg.kind === 'greedy' && i !== parts.length - 1) fail(`greedy {${seg.name}+} must be the last segment`);
    if (seg.kind !== 'static') {
      if (names.includes(seg.name)) fail(`param {${seg.name}} appears twice`);
      names.push(seg.name);
    }
    segments[i] = seg;
  });
  return { segments, names: names.length === 0 ? NO_NAMES : names.slice() };
}

function parseSegment(part: string, fail: (why: string) => never): TemplateSegment {
  const open = part.indexOf('{');
  const close = part.indexOf('}');
  if (open === -1 && close === -1) return { kind: 'static', text: part };
  if (open === -1 || close < open) fail(`unbalanced braces in segment "${part}"`);
  if (part.indexOf('{', open + 1) !== -1 || part.indexOf('}', close + 1) !== -1) fail(`segment "${part}" holds more than one param`);
  const inner = part.slice(open + 1, close);
  const greedy = inner.endsWith('+');
  const name = greedy ? inner.slice(0, -1) : inner;
  if (!/^[A-Za-z_][A-Za-z0-9_.-]*$/.test(name)) fail(`bad param name "${inner}"`);
  const prefix = part.slice(0, open);
  const suffix = part.slice(close + 1);
  if (greedy) {
    if (prefix !== '' || suffix !== '') fail(`greedy {${inner}} must be a whole segment`);
    return { kind: 'greedy', name };
  }
  if (prefix === '' && suffix === '') return { kind: 'param', name };
  return { kind: 'mixed', name, prefix, suffix };
}
