// OpenTelemetry span export for `gatehouse proxy` and `gatehouse standalone` (one definition for both): the collector's
// OTLP/HTTP traces URL, head sampling, and headers for the collector read from a file (never a flag: flags show in
// `ps`, and a collector token is a secret). docs/tracing.md.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import type { GatewayOptions } from '../../proxy/server/start-gateway.ts';
import { defineFlags, flagsShape, parseOptions, type FlagValues } from './flag-definitions.ts';

const endpoint = z
  .url({ protocol: /^https?$/, error: 'must be an http:// or https:// URL' })
  .refine((u) => {
    const url = new URL(u);
    return url.username === '' && url.password === '';
  }, 'must not hold credentials: put them in --otlp-headers-file')
  .refine((u) => new URL(u).pathname !== '/', 'must be the traces URL, path included (OTLP/HTTP: http://collector:4318/v1/traces)');

export const OTLP_FLAGS = defineFlags({
  'otlp-endpoint': {
    value: 'URL',
    schema: endpoint,
    description: 'export a span per request over OTLP/HTTP to this traces URL (http://collector:4318/v1/traces); off when absent',
  },
  'otlp-sample': {
    value: 'RATIO',
    schema: z.coerce.number().min(0).max(1),
    default: '1',
    description: "share of new traces whose spans are exported, 0 to 1 (a client's traceparent decides for its own trace)",
  },
  'otlp-headers-file': {
    value: 'FILE',
    schema: z.string().min(1),
    description: 'headers sent with every export (a collector token), one "Name: value" a line, read from this file',
  },
});

/** For a parseArgs of one's own (bench/gateway-process.ts). */
export const OTLP_PARSE_OPTIONS = parseOptions(OTLP_FLAGS);
export const otlpFlagsShape = flagsShape(OTLP_FLAGS);

export type OtlpFlags = FlagValues<typeof OTLP_FLAGS>;

/** Who exports the spans: the resource's service.version and service.instance.id. */
export interface TracingIdentity {
  version: string;
  instance: string;
}

/** The gateway's tracing options from the flags (none without --otlp-endpoint), or a one-line error. */
export async function otlpOptions(flags: OtlpFlags, identity: TracingIdentity): Promise<Pick<GatewayOptions, 'tracing'> | string> {
  const url = flags['otlp-endpoint'];
  const file = flags['otlp-headers-file'];
  if (url === undefined) return file === undefined ? {} : '--otlp-headers-file needs --otlp-endpoint';
  let headers: Record<string, string> | undefined;
  if (file !== undefined) {
    let text: string;
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      return `--otlp-headers-file: cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`;
    }
    const parsed = parseHeaderLines(text);
    if (typeof parsed === 'string') return `--otlp-headers-file ${file}: ${parsed}`;
    headers = parsed;
  }
  return {
    tracing: {
      endpoint: url,
      sample: flags['otlp-sample'],
      serviceVersion: identity.version,
      serviceInstanceId: identity.instance,
      ...(headers !== undefined && { headers }),
    },
  };
}

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;
/** What Node accepts in a header value: tab, visible ASCII and space, obs-text. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]+$/;

/**
 * `Name: value` lines (blank lines and `#` comments skipped), or what is wrong with them. A problem names the line,
 * never its text: the file holds a secret.
 */
export function parseHeaderLines(text: string): Record<string, string> | string {
  const headers: Record<string, string> = {};
  const lines = text.split(/\r?\n/);
  for (const [i, line] of lines.entries()) {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const colon = trimmed.indexOf(':');
    const name = colon < 0 ? '' : trimmed.slice(0, colon).trim();
    const value = colon < 0 ? '' : trimmed.slice(colon + 1).trim();
    if (!TOKEN.test(name) || !FIELD_VALUE.test(value)) return `line ${i + 1} is not "Name: value"`;
    headers[name.toLowerCase()] = value;
  }
  if (Object.keys(headers).length === 0) return 'no "Name: value" line';
  return headers;
}
