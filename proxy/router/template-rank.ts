// The precedence of templates that match the same path: more static segments first; then, at the
// first position where they differ, static > mixed (`{id}.json`, longer literal first) > param > greedy;
// then more segments; then more header/query matchers; then table order.
import { bySpecificityThenOrder, type Candidate } from './candidate.ts';
import type { TemplateSegment } from './template-parse.ts';

const KIND_ORDER = { static: 0, mixed: 1, param: 2, greedy: 3 } as const;

export function compareTemplates(a: Candidate, b: Candidate): number {
  const sa = segmentsOf(a);
  const sb = segmentsOf(b);
  const byStatic = staticCount(sb) - staticCount(sa);
  if (byStatic !== 0) return byStatic;
  for (let i = 0; i < sa.length && i < sb.length; i++) {
    const x = sa[i]!;
    const y = sb[i]!;
    const byKind = KIND_ORDER[x.kind] - KIND_ORDER[y.kind];
    if (byKind !== 0) return byKind;
    if (x.kind === 'mixed' && y.kind === 'mixed') {
      const byLiteral = y.prefix.length + y.suffix.length - (x.prefix.length + x.suffix.length);
      if (byLiteral !== 0) return byLiteral;
    }
  }
  return sb.length - sa.length || bySpecificityThenOrder(a, b);
}

function segmentsOf(c: Candidate): readonly TemplateSegment[] {
  if (c.path.type !== 'template') throw new Error(`route ${c.route.id} is not a template`);
  return c.path.template.segments;
}

function staticCount(segments: readonly TemplateSegment[]): number {
  let n = 0;
  for (const s of segments) if (s.kind === 'static') n++;
  return n;
}
