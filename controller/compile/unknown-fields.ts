// Fields a schema does not know. zod drops them silently, so a typo ("stripBasepath", "timeout") would change
// behaviour without a word; kubectl's default (--validate=strict) rejects them too, so the compiler does the same
// for the files source. Only `spec` is walked: metadata legitimately carries fields the gateway does not read.
//
// This reads zod's definition objects (`_zod.def`, the structure zod 4 exposes for tooling) through a narrow view.
import type { z } from 'zod';
import type { FieldProblem } from './field-path.ts';
import { formatFieldPath, type PathSegment } from './field-path.ts';

interface DefView {
  type: string;
  shape?: Record<string, z.ZodType>;
  innerType?: z.ZodType;
  element?: z.ZodType;
  valueType?: z.ZodType;
  in?: z.ZodType;
}

function defOf(schema: z.ZodType): DefView {
  return (schema as unknown as { _zod: { def: DefView } })._zod.def;
}

export function unknownFields(schema: z.ZodType, value: unknown, path: PathSegment[]): FieldProblem[] {
  const out: FieldProblem[] = [];
  walk(schema, value, path, out);
  return out;
}

function walk(schema: z.ZodType, value: unknown, path: PathSegment[], out: FieldProblem[]): void {
  const def = defOf(schema);
  switch (def.type) {
    case 'optional':
    case 'default':
    case 'prefault':
    case 'nullable':
    case 'readonly':
    case 'catch':
      if (def.innerType) walk(def.innerType, value, path, out);
      return;
    case 'pipe':
      if (def.in) walk(def.in, value, path, out);
      return;
    case 'array':
      if (def.element && Array.isArray(value)) value.forEach((v, i) => walk(def.element as z.ZodType, v, [...path, i], out));
      return;
    case 'record':
      if (def.valueType && isPlainObject(value)) for (const [k, v] of Object.entries(value)) walk(def.valueType, v, [...path, k], out);
      return;
    case 'object': {
      if (!def.shape || !isPlainObject(value)) return;
      for (const [k, v] of Object.entries(value)) {
        const field = def.shape[k];
        if (field) walk(field, v, [...path, k], out);
        else out.push({ path: formatFieldPath([...path, k]), message: 'is not a known field' });
      }
      return;
    }
    default:
      return;
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
