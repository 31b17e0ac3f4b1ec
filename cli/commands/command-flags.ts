// Flags cross a process boundary, so each command validates them with zod; a bad flag gets one line naming it,
// then the command's usage, on stderr.
import type { z } from 'zod';

/** The validated flags, or undefined after the problems and usage were written to stderr. */
export function validateFlags<T>(command: string, schema: z.ZodType<T>, values: unknown, usage: string): T | undefined {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`);
  process.stderr.write(`gatehouse ${command}: bad flags\n${lines.join('\n')}\n\nusage:\n${usage}\n`);
  return undefined;
}
