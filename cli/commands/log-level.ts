// The log level of every long-running command: --log-level, else $LOG_LEVEL (the chart sets it), else info. Both are
// checked against pino's levels, so a typo fails at start with the flag or variable named instead of pino's own
// "default level:… must be included in custom levels".
import { z } from 'zod';
import { defineFlags } from './flag-definitions.ts';

const LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const;
export type LogLevel = (typeof LEVELS)[number];
const levelSchema = z.enum(LEVELS, { error: `must be one of ${LEVELS.join(', ')}` });

export const LOG_LEVEL_FLAGS = defineFlags({
  'log-level': {
    value: 'LEVEL',
    schema: levelSchema,
    description: `${LEVELS.slice(0, -1).join(', ')} or silent (default: $LOG_LEVEL, else info)`,
  },
});

/** The level to log at, or why $LOG_LEVEL cannot be used. */
export function logLevel(flag: LogLevel | undefined, env: NodeJS.ProcessEnv = process.env): LogLevel | { error: string } {
  if (flag !== undefined) return flag;
  const fromEnv = env.LOG_LEVEL;
  if (fromEnv === undefined || fromEnv === '') return 'info';
  const parsed = levelSchema.safeParse(fromEnv);
  return parsed.success ? parsed.data : { error: `LOG_LEVEL ${JSON.stringify(fromEnv)} ${parsed.error.issues[0]?.message ?? 'is not a level'}` };
}
