// The four proxies under test, each started as a pinned child on its own port in front of the shared upstream.
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { RoutingTable } from '../proxy/table/table-schema.ts';
import { startProcess, type Started } from './child-processes.ts';
import { freePort, waitForPort, LOOPBACK } from './ports.ts';
import { proxyConf, startNginx } from './nginx.ts';
import { assertMeasuredRoute, oneRouteTable, tenThousandRouteTable, MEASURED_ROUTE_ID } from './bench-tables.ts';

export type CaseName = 'gateway-1' | 'gateway-10k' | 'bare-undici' | 'nginx';
export const ALL_CASES: CaseName[] = ['gateway-1', 'gateway-10k', 'bare-undici', 'nginx'];

export const CASE_LABELS: Record<CaseName, string> = {
  'gateway-1': 'gateway, 1 route',
  'gateway-10k': 'gateway, 10,000 routes',
  'bare-undici': 'bare undici proxy',
  nginx: 'nginx proxy_pass',
};

export interface RunningCase {
  name: CaseName;
  port: number;
  process: Started;
  routes?: number;
}

const GATEWAY_ENTRY = join(import.meta.dirname, '../proxy/server/start-gateway.ts');

/** The gateway cases need proxy/server/start-gateway.ts; until it exists they are skipped, not failed. */
export function gatewayAvailable(): boolean {
  return existsSync(GATEWAY_ENTRY);
}

export interface CaseContext {
  tmpDir: string;
  upstreamPort: number;
  cpu: number | null;
}

function startGatewayCase(name: CaseName, table: RoutingTable, ctx: CaseContext, port: number, adminPort: number): Started {
  const tableFile = join(ctx.tmpDir, `${name}-table.json`);
  writeFileSync(tableFile, JSON.stringify(table));
  const entry = join(import.meta.dirname, 'gateway-process.ts');
  return startProcess(name, process.execPath, [entry, '--table', tableFile, '--port', String(port), '--admin-port', String(adminPort)], ctx.cpu);
}

export async function startCase(name: CaseName, ctx: CaseContext): Promise<RunningCase> {
  const port = await freePort();
  let started: Started;
  let routes: number | undefined;
  switch (name) {
    case 'gateway-1':
    case 'gateway-10k': {
      const table = name === 'gateway-1' ? oneRouteTable(ctx.upstreamPort) : tenThousandRouteTable(ctx.upstreamPort);
      assertMeasuredRoute(table, name === 'gateway-1' ? table.routes[0]?.id ?? '' : MEASURED_ROUTE_ID);
      routes = table.routes.length;
      started = startGatewayCase(name, table, ctx, port, await freePort());
      break;
    }
    case 'bare-undici': {
      const entry = join(import.meta.dirname, 'baselines/bare-undici-proxy.ts');
      started = startProcess(name, process.execPath, [entry, '--port', String(port), '--upstream', `http://${LOOPBACK}:${ctx.upstreamPort}`], ctx.cpu);
      break;
    }
    case 'nginx':
      started = startNginx(name, join(ctx.tmpDir, 'nginx-proxy'), proxyConf(join(ctx.tmpDir, 'nginx-proxy'), port, ctx.upstreamPort), ctx.cpu);
      break;
  }
  await waitForPort(port, started);
  return { name, port, process: started, ...(routes === undefined ? {} : { routes }) };
}
