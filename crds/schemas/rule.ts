// A cross-field rule written once and enforced twice: as a CEL rule in the CRD (kubectl apply rejects it)
// and as a zod refinement (standalone mode and the compiler reject it with the same message).
import type { z } from 'zod';

export interface CrossFieldRule<T> {
  /** CEL expression over `self`, evaluated by the API server. */
  cel: string;
  message: string;
  /** Field path relative to the object the rule sits on, for the zod issue. */
  path?: (string | number)[];
  check: (value: T) => boolean;
}

/** `fieldPath` points kubectl's error at the field, as the zod issue's path does. */
type CelRule = { rule: string; message: string; fieldPath?: string };

/** Attach rules to an object schema: CEL in the generated CRD, a refinement at runtime. */
export function withRules<S extends z.ZodType>(schema: S, rules: CrossFieldRule<z.output<S>>[]): S {
  const validations: CelRule[] = rules.map((r) => ({
    rule: r.cel,
    message: r.message,
    ...(r.path && r.path.length > 0 ? { fieldPath: celFieldPath(r.path) } : {}),
  }));
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      // A fresh array each time: zod prefixes the parent path onto the issue's path in place, which would
      // otherwise grow the shared rule path on every parse ("key[0][0][0].name").
      if (!r.check(value)) ctx.addIssue({ code: 'custom', message: r.message, path: [...(r.path ?? [])] });
    }
  });
  return refined.meta({ 'x-kubernetes-validations': validations }) as unknown as S;
}

/** ['value'] → ".value", ['items', 0] → ".items[0]": the JSONPath form the API server expects. */
function celFieldPath(path: (string | number)[]): string {
  return path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${p}`)).join('');
}
