// The gateway as its own process, so the bench can pin it to a core: loads a routing table
// from a JSON file and serves it. Usage: node bench/gateway-process.ts --table FILE --port N --admin-port N [--log-level L]
// [--https-port N --tls-cert FILE --tls-key FILE] (the TLS listener: HTTP/2 and HTTP/1.1 by ALPN)
// [--redis-url redis://HOST:PORT …] [--otlp-endpoint URL …]: the Redis and span-export flags of `gatehouse proxy` and
// `gatehouse standalone`, parsed by the same code (cli/commands/redis-flags.ts, otlp-flags.ts), so their defaults
// (timeouts, local counter bound, batching) are the shipped ones.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { z } from 'zod';
import { routingTableSchema } from '../proxy/table/table-schema.ts';
import { startGateway } from '../proxy/server/start-gateway.ts';
import { REDIS_PARSE_OPTIONS, redisFlagsShape, redisOptions } from '../cli/commands/redis-flags.ts';
import { OTLP_PARSE_OPTIONS, otlpFlagsShape, otlpOptions } from '../cli/commands/otlp-flags.ts';
import { packageVersion } from '../cli/package-version.ts';

const { values } = parseArgs({
  options: {
    table: { type: 'string' },
    port: { type: 'string' },
    'admin-port': { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'https-port': { type: 'string' },
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    ...REDIS_PARSE_OPTIONS,
    ...OTLP_PARSE_OPTIONS,
  },
});
if (values.table === undefined || values.port === undefined || values['admin-port'] === undefined) {
  throw new Error('usage: --table FILE --port N --admin-port N [--log-level L] [--redis-url URL …] [--otlp-endpoint URL …]');
}
const redisFlags = z.object(redisFlagsShape).parse(values);
const redis = await redisOptions(redisFlags);
if (typeof redis === 'string') throw new Error(redis);
const tracing = await otlpOptions(z.object(otlpFlagsShape).parse(values), { version: packageVersion(), instance: `bench-${process.pid}` });
if (typeof tracing === 'string') throw new Error(tracing);

const loaded = routingTableSchema.parse(JSON.parse(readFileSync(values.table, 'utf8')));
const httpsPort = values['https-port'];
// The certificate is served as the table's default ("*"), as `--default-tls-secret` would have the controller send it.
const table =
  httpsPort === undefined
    ? loaded
    : { ...loaded, certificates: [{ id: 'bench/tls', certPem: readFileSync(values['tls-cert'] ?? '', 'utf8'), keyPem: readFileSync(values['tls-key'] ?? '', 'utf8') }], tlsHosts: [{ id: '*', certificate: 'bench/tls' }] };
// The level comes from the bench (info by default, as `gatehouse proxy` ships: one access-log line per request); the
// bench sends stdout to a file, not a terminal.
const logger = pino({ level: values['log-level'] });
const https = httpsPort === undefined ? {} : { https: { port: Number(httpsPort) } };
const gateway = await startGateway({ host: '127.0.0.1', port: Number(values.port), adminPort: Number(values['admin-port']), logger, ...redis, ...tracing, ...https });
const applied = gateway.applyTable(table);
if (!applied.ok) {
  console.error('table refused:', applied.error);
  await gateway.close();
  process.exit(1);
}
console.log(`gateway serving ${table.routes.length} routes on ${gateway.port}`);

// The WebSocket bench starts this process with --expose-gc and asks for a full collection with SIGUSR2 before reading
// RSS, to tell the live memory per connection from garbage not yet collected. Without --expose-gc nothing changes.
const gc = (globalThis as { gc?: () => void }).gc;
if (gc !== undefined) process.on('SIGUSR2', () => gc());

process.once('SIGTERM', () => {
  void gateway.close().finally(() => process.exit(0));
});
