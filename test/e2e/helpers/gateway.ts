// A gateway in the test process, quiet, on ephemeral ports, closed when the test ends (pass or fail).
import type { TestContext } from 'node:test';
import { pino } from 'pino';
import { startGateway, type Gateway, type GatewayOptions } from '../../../proxy/server/start-gateway.ts';
import type { RoutingTable } from '../../../proxy/table/table-schema.ts';

export type { Gateway };

/** Lines the gateway logged, parsed, for tests that look at the access log. */
export interface LogSink {
  lines: Array<Record<string, unknown>>;
}

export async function startTestGateway(t: TestContext, table: RoutingTable | undefined, opts: Partial<GatewayOptions> = {}): Promise<Gateway & { logs: LogSink }> {
  const logs: LogSink = { lines: [] };
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.lines.push(JSON.parse(line) as Record<string, unknown>) });
  const gateway = await startGateway({ host: '127.0.0.1', port: 0, adminPort: 0, logger, shutdownGraceMs: 500, ...opts });
  t.after(() => gateway.close());
  if (table !== undefined) {
    const applied = gateway.applyTable(table);
    if (!applied.ok) throw new Error(`test table refused: ${applied.error}`);
  }
  return Object.assign(gateway, { logs });
}

/** Closes these (servers, upstreams) after the test, whatever its outcome. */
export function closeAfter(t: TestContext, ...closables: Array<{ close: () => Promise<void> }>): void {
  for (const c of closables) t.after(() => c.close());
}
