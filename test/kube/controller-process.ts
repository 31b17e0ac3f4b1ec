// Runs the real `gatehouse controller` as a child process against a test control plane, and reads its admin port.
// stop() always ends it (SIGTERM, then SIGKILL), and so does this process exiting.
import type { ChildProcess } from 'node:child_process';
import { z } from 'zod';
import { startCliProcess } from '../support/cli-process.ts';
import { waitFor } from '../support/wait-for.ts';

export interface ControllerProcess {
  child: ChildProcess;
  pid: number;
  adminPort: number;
  /** The stream port it listens on (null without --stream-port). */
  streamPort: number | null;
  logs: () => string;
  stop: () => Promise<void>;
}

const startedLine = z.object({ msg: z.literal('gatehouse controller started'), adminPort: z.number().int(), streamPort: z.number().int().nullable() });

export async function startController(kubeconfigPath: string, extraArgs: string[] = [], timeoutMs = 60_000, env: NodeJS.ProcessEnv = {}): Promise<ControllerProcess> {
  const p = await startCliProcess({
    args: ['controller', '--kubeconfig', kubeconfigPath, '--admin-port', '0', '--admin-host', '127.0.0.1', ...extraArgs],
    marker: 'gatehouse controller started',
    schema: startedLine,
    what: 'controller',
    timeoutMs,
    env,
  });
  return { child: p.child, pid: p.pid, adminPort: p.started.adminPort, streamPort: p.started.streamPort, logs: p.logs, stop: () => p.stop() };
}

const debugTableSchema = z.object({
  version: z.string(),
  sequence: z.number().int(),
  leader: z.boolean(),
  table: z.object({
    version: z.string(),
    routes: z.array(z.looseObject({ id: z.string(), source: z.object({ namespace: z.string(), name: z.string() }) })),
    backends: z.array(z.looseObject({ id: z.string(), endpoints: z.array(z.object({ host: z.string(), port: z.number() })) })),
  }),
  statuses: z.array(z.looseObject({ kind: z.string(), namespace: z.string(), name: z.string() })),
});
export type DebugTable = z.output<typeof debugTableSchema>;

/** The controller's current table, or undefined before its first compile. */
export async function debugTable(adminPort: number): Promise<DebugTable | undefined> {
  const res = await fetch(`http://127.0.0.1:${adminPort}/debug/table`, { signal: AbortSignal.timeout(5_000) });
  if (res.status === 503) return undefined;
  if (!res.ok) throw new Error(`/debug/table answered ${res.status}`);
  return debugTableSchema.parse(await res.json());
}

export async function adminGet(adminPort: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${adminPort}${path}`, { signal: AbortSignal.timeout(5_000) });
  return { status: res.status, body: await res.text() };
}

/**
 * Until the controller's /readyz answers 200 (informers synced, first compile done). Sized for a loaded 2-core
 * machine: a cold API server and a busy CPU have taken over 30 s here. On timeout the error carries /readyz's last
 * answer (which informer is missing) and, through waitFor, the controller's recent output.
 */
export async function waitControllerReady(controller: ControllerProcess, timeoutMs = 90_000): Promise<void> {
  let last = '(no answer)';
  await waitFor(
    () => `controller ready (last /readyz: ${last})`,
    async () => {
      const r = await adminGet(controller.adminPort, '/readyz');
      last = `${r.status} ${r.body.trim()}`;
      return r.status === 200 ? true : undefined;
    },
    timeoutMs,
  );
}

