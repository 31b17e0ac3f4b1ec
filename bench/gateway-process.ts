// The gateway as its own process, so the bench can pin it to a core: loads a routing table
// from a JSON file and serves it. Usage: node bench/gateway-process.ts --table FILE --port N --admin-port N [--log-level L]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { pino } from 'pino';
import { routingTableSchema } from '../proxy/table/table-schema.ts';
import { startGateway } from '../proxy/server/start-gateway.ts';

const { values } = parseArgs({
  options: { table: { type: 'string' }, port: { type: 'string' }, 'admin-port': { type: 'string' }, 'log-level': { type: 'string', default: 'warn' } },
});
if (values.table === undefined || values.port === undefined || values['admin-port'] === undefined) {
  throw new Error('usage: --table FILE --port N --admin-port N');
}

const table = routingTableSchema.parse(JSON.parse(readFileSync(values.table, 'utf8')));
// warn by default: per-request logs would measure the terminal, and nginx runs with access_log off too.
// (`gatehouse proxy` logs at info, one access-log line per request; --log-level info measures that.)
const logger = pino({ level: values['log-level'] });
const gateway = await startGateway({ host: '127.0.0.1', port: Number(values.port), adminPort: Number(values['admin-port']), logger });
const applied = gateway.applyTable(table);
if (!applied.ok) {
  console.error('table refused:', applied.error);
  await gateway.close();
  process.exit(1);
}
console.log(`gateway serving ${table.routes.length} routes on ${gateway.port}`);

process.once('SIGTERM', () => {
  void gateway.close().finally(() => process.exit(0));
});
