// A cross-field rule written once and enforced twice: as a CEL rule in the CRD (kubectl apply rejects it)
// and as a zod refinement (standalone mode and the compiler reject it with the same message).
import { z } from 'zod';

export interface CrossFieldRule<T> {
  /** CEL expression over `self`, evaluated by the API server. */
  cel: string;
  message: string;
  /** Field path relative to the object the rule sits on, for the zod issue. */
  path?: (string | number)[];
  check: (value: T) => boolean;
}

type CelRule = { rule: string; message: string };

/** Attach rules to an object schema: CEL in the generated CRD, a refinement at runtime. */
export function withRules<S extends z.ZodType>(schema: S, rules: CrossFieldRule<z.output<S>>[]): S {
  const validations: CelRule[] = rules.map((r) => ({ rule: r.cel, message: r.message }));
  const refined = schema.superRefine((value, ctx) => {
    for (const r of rules) {
      if (!r.check(value)) ctx.addIssue({ code: 'custom', message: r.message, path: r.path ?? [] });
    }
  });
  return refined.meta({ 'x-kubernetes-validations': validations }) as unknown as S;
}
