// One definition per flag (its name, value placeholder, zod schema, default, whether it is required, one-line
// description), and everything derived from them: the parseArgs options, the zod object that validates the flags,
// each command's usage and the top-level usage. Nothing here is written twice, so the usage cannot drift from the flags.
//
// Flags cross a process boundary, so each command validates them with zod: a bad value gets one line naming the
// flag, an unknown flag is named, and either is followed by the command's usage on stderr (exit 2).
import { parseArgs } from 'node:util';
import { z } from 'zod';

interface FlagBase {
  /** One line for the usage. */
  description: string;
  /** A one-letter alias (`-c`). */
  short?: string;
}

/** A flag with a value (`--port 8080`). */
export interface ValueFlag<S extends z.ZodType = z.ZodType> extends FlagBase {
  /** The value's placeholder in the usage: `DIR`, `N`, `CIDR,…`. */
  value: string;
  /** Validates (and converts) the value as given on the command line. */
  schema: S;
  /** The value when the flag is absent, as it would be typed; shown in the usage and validated like a given one. */
  default?: string;
  /** The command refuses to start without it. */
  required?: true;
}

/** A flag without a value (`--redis-tls`): true when given. */
export interface BooleanFlag extends FlagBase {
  boolean: true;
}

export type FlagDefinition = ValueFlag | BooleanFlag;
export type FlagDefinitions = Readonly<Record<string, FlagDefinition>>;

/** Keeps the literal types of the definitions (which flags are required, which have defaults) for the derived types. */
export function defineFlags<const D extends FlagDefinitions>(flags: D): D {
  return flags;
}

function isBoolean(flag: FlagDefinition): flag is BooleanFlag {
  return 'boolean' in flag;
}

// ---- (a) parseArgs options ----

export type ParseOptions<D extends FlagDefinitions> = {
  [K in keyof D]: D[K] extends BooleanFlag ? { type: 'boolean'; short?: string } : { type: 'string'; short?: string };
};

export function parseOptions<D extends FlagDefinitions>(flags: D): ParseOptions<D> {
  const entries = Object.entries(flags).map(([name, flag]) => [name, { type: isBoolean(flag) ? 'boolean' : 'string', ...(flag.short !== undefined && { short: flag.short }) }]);
  return Object.fromEntries(entries) as ParseOptions<D>;
}

// ---- (b) the zod object ----

type FlagSchema<F> = F extends ValueFlag<infer S extends z.ZodType> ? (F extends { required: true } | { default: string } ? S : z.ZodOptional<S>) : z.ZodOptional<z.ZodBoolean>;
export type FlagsShape<D extends FlagDefinitions> = { [K in keyof D]: FlagSchema<D[K]> };
export type FlagValues<D extends FlagDefinitions> = z.output<z.ZodObject<FlagsShape<D>>>;

/** The zod shape of the flags: a default is filled in before validation, an optional flag may be absent. */
export function flagsShape<D extends FlagDefinitions>(flags: D): FlagsShape<D> {
  const entries = Object.entries(flags).map(([name, flag]) => {
    if (isBoolean(flag)) return [name, z.boolean().optional()];
    if (flag.default !== undefined) return [name, flag.schema.prefault(flag.default)];
    return [name, flag.required ? flag.schema : flag.schema.optional()];
  });
  return Object.fromEntries(entries) as FlagsShape<D>;
}

// ---- commands ----

export interface CommandDefinition<D extends FlagDefinitions = FlagDefinitions> {
  name: string;
  /** One line for the top-level usage. */
  purpose: string;
  flags: D;
  /** The placeholder of the positional arguments (`FILE|DIR…`); a command without it takes none. */
  positionals?: string;
  /** Checks across flags, as refinements of the flags object (their issues are reported like a bad value). */
  refine?(flags: z.ZodObject<FlagsShape<D>>): z.ZodType<FlagValues<D>>;
}

export function defineCommand<const D extends FlagDefinitions>(command: CommandDefinition<D>): CommandDefinition<D> {
  return command;
}

/** The zod schema that validates a command's parsed flags. */
export function commandSchema<D extends FlagDefinitions>(command: CommandDefinition<D>): z.ZodType<FlagValues<D>> {
  const object = z.object(flagsShape(command.flags)) as unknown as z.ZodObject<FlagsShape<D>>;
  return command.refine ? command.refine(object) : object;
}

// ---- (c) and (d): usage ----

const HELP_FLAG = { name: 'help', short: 'h', description: 'print this usage and exit' };

function flagWithValue(name: string, flag: FlagDefinition): string {
  return isBoolean(flag) ? `--${name}` : `--${name} ${flag.value}`;
}

/** `proxy --controller ws(s)://HOST:PORT --token-file FILE [flags]`: the required flags, then the positionals. */
export function commandSynopsis(command: CommandDefinition): string {
  const required = Object.entries(command.flags).filter(([, f]) => !isBoolean(f) && f.required);
  const optional = Object.keys(command.flags).length > required.length;
  return [command.name, ...required.map(([name, f]) => flagWithValue(name, f)), ...(optional ? ['[flags]'] : []), ...(command.positionals ? [command.positionals] : [])].join(' ');
}

/**
 * `gatehouse <command> --help`: the synopsis, the purpose, then every flag on its own line with its placeholder,
 * description and default. The purpose line starts with `  <command> ` and the flags are indented further, the shape
 * test/kube/helm-chart-support.ts reads a command's flags from.
 */
export function commandUsage(command: CommandDefinition): string {
  const anyShort = Object.values(command.flags).some((f) => f.short !== undefined);
  const rows = Object.entries(command.flags).map(([name, flag]) => {
    const alias = flag.short !== undefined ? `-${flag.short}, ` : anyShort ? '    ' : '';
    const notes = [...(!isBoolean(flag) && flag.required ? ['required'] : []), ...(!isBoolean(flag) && flag.default !== undefined ? [`default: ${flag.default}`] : [])];
    return { left: alias + flagWithValue(name, flag), right: flag.description + (notes.length > 0 ? ` (${notes.join(', ')})` : '') };
  });
  rows.push({ left: `-${HELP_FLAG.short}, --${HELP_FLAG.name}`, right: HELP_FLAG.description });
  const width = Math.max(...rows.map((r) => r.left.length)) + 2;
  const lines = rows.map((r) => `    ${r.left.padEnd(width)}${r.right}`);
  return `usage: gatehouse ${commandSynopsis(command)}\n\n  ${command.name} — ${command.purpose}\n\nflags:\n${lines.join('\n')}\n`;
}

/** `gatehouse --help`: every command's synopsis and purpose. */
export function topLevelUsage(commands: readonly CommandDefinition[]): string {
  const entries = commands.map((c) => `  ${commandSynopsis(c)}\n      ${c.purpose}`);
  return `usage: gatehouse <command> [flags]\n\ncommands:\n${entries.join('\n')}\n\n\`gatehouse <command> --help\` lists the command's flags.\n`;
}

// ---- parsing and validation ----

/** The validated flags, or undefined after the problems and usage were written to stderr. */
export function validateFlags<T>(command: string, schema: z.ZodType<T>, values: unknown, usage: string): T | undefined {
  const parsed = schema.safeParse(values);
  if (parsed.success) return parsed.data;
  const lines = parsed.error.issues.map((i) => `  --${i.path.join('.')}: ${i.message}`);
  process.stderr.write(`gatehouse ${command}: bad flags\n${lines.join('\n')}\n\n${usage}`);
  return undefined;
}

export interface ParsedCommandLine<D extends FlagDefinitions> {
  flags: FlagValues<D>;
  positionals: string[];
}

/**
 * A command's arguments → its validated flags, or undefined after the problem and the command's usage were written
 * to stderr (the command exits 2): an unknown flag, a flag without its value, an unexpected argument, a missing
 * required flag, a bad value.
 */
export function parseCommandLine<D extends FlagDefinitions>(command: CommandDefinition<D>, args: string[]): ParsedCommandLine<D> | undefined {
  const usage = commandUsage(command);
  const refuse = (problem: string): undefined => {
    process.stderr.write(`gatehouse ${command.name}: ${problem}\n\n${usage}`);
    return undefined;
  };
  const options = parseOptions(command.flags);
  const allowPositionals = command.positionals !== undefined;
  let parsed: { values: Record<string, unknown>; positionals: string[] };
  try {
    parsed = parseArgs({ args, options, allowPositionals, strict: true });
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return refuse(`unknown flag ${unknownFlag(args, options) ?? ''}`.trimEnd());
    if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL' || code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return refuse((err as Error).message);
    throw err;
  }
  const missing = Object.entries(command.flags).filter(([name, f]) => !isBoolean(f) && f.required && parsed.values[name] === undefined);
  if (missing.length > 0) return refuse(missing.map(([name, f]) => `${flagWithValue(name, f)} is required`).join('; '));
  const flags = validateFlags(command.name, commandSchema(command), parsed.values, usage);
  return flags === undefined ? undefined : { flags, positionals: parsed.positionals };
}

/** The first argument that names no flag of the command, as written (`--xyz`, `-x`). */
function unknownFlag(args: string[], options: Record<string, { type: string; short?: string }>): string | undefined {
  const { tokens } = parseArgs({ args, options: options as Record<string, { type: 'string' | 'boolean'; short?: string }>, allowPositionals: true, strict: false, tokens: true });
  const token = tokens.find((t) => t.kind === 'option' && !Object.hasOwn(options, t.name));
  return token?.kind === 'option' ? token.rawName : undefined;
}
