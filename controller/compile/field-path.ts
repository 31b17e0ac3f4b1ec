// Field paths as users read them in status messages: ["spec", "rules", 1, "backends"] → "spec.rules[1].backends".

export type PathSegment = string | number;

/** A problem with one field of a resource; rendered as "<path>: <message>". */
export interface FieldProblem {
  path: string;
  message: string;
}

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$-]*$/;

export function formatFieldPath(segments: readonly PropertyKey[]): string {
  let out = '';
  for (const s of segments) {
    if (typeof s === 'number') out += `[${s}]`;
    else if (typeof s === 'string' && IDENTIFIER.test(s)) out += out === '' ? s : `.${s}`;
    else out += `[${JSON.stringify(String(s))}]`;
  }
  return out;
}

export function describeProblem(p: FieldProblem): string {
  return p.path === '' ? p.message : `${p.path}: ${p.message}`;
}

export function describeProblems(problems: readonly FieldProblem[]): string {
  return problems.map(describeProblem).join('; ');
}
