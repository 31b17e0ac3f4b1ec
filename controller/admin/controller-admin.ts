// The controller's admin port: the proxy's admin server (healthz, metrics) with the controller's readiness
// (every informer synced and a first compile done) and a read-only /debug/table.
import type { Server } from 'node:http';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { createAdminServer } from '../../proxy/server/admin-server.ts';
import type { CompiledState } from '../controller-main.ts';
import { debugTableBody } from './debug-table-body.ts';

export interface ControllerAdminDeps {
  registry: Registry;
  logger: Logger;
  informersSynced: () => boolean;
  current: () => CompiledState | undefined;
  isLeader: () => boolean;
  informerStates: () => { name: string; synced: boolean; restarts: number }[];
  /** The proxies connected to this replica (/debug/fleet), when distribution is on. */
  fleet?: () => unknown;
}

export function createControllerAdmin(deps: ControllerAdminDeps): Server {
  return createAdminServer({
    registry: deps.registry,
    logger: deps.logger,
    servedVersion: () => deps.current()?.table.version,
    readiness: () => {
      if (!deps.informersSynced()) {
        const waiting = deps.informerStates().filter((s) => !s.synced).map((s) => s.name);
        return { ready: false, detail: `informers not synced: ${waiting.join(', ')}` };
      }
      const state = deps.current();
      return state ? { ready: true, detail: `table ${state.table.version}` } : { ready: false, detail: 'no compile yet' };
    },
    extraRoutes: {
      '/debug/table': () => {
        const state = deps.current();
        if (!state) return { status: 503, contentType: 'application/json', body: '{"error":"no table compiled yet"}\n' };
        // Statuses are included so a person debugging can see why a resource is missing; they never carry Secret values.
        // Streamed (debug-table-body.ts): the page is ~20 MB at 10k routes.
        return { status: 200, contentType: 'application/json', body: debugTableBody(state, deps.isLeader()) };
      },
      '/debug/informers': () => ({ status: 200, contentType: 'application/json', body: `${JSON.stringify(deps.informerStates())}\n` }),
      ...(deps.fleet && {
        '/debug/fleet': () => ({ status: 200, contentType: 'application/json', body: `${JSON.stringify((deps.fleet as () => unknown)())}\n` }),
      }),
    },
  });
}
