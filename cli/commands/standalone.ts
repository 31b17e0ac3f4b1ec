// `gatehouse standalone --config DIR`: files source → compile → an in-process proxy. The whole gateway, no cluster.
import type { Logger } from 'pino';
import { compile } from '../../controller/compile/compile.ts';
import { documentsToCompileInput } from '../../controller/sources/manifest-documents.ts';
import { FilesSource, type FilesSnapshot } from '../../controller/sources/files-source.ts';
import { readBodyFiles } from '../../controller/sources/body-files.ts';
import { originsByKey, problemLines } from '../../controller/status/status-report.ts';
import { trafficSteps, type TrafficSteps } from '../../proxy/server/graceful-shutdown.ts';
import { startGateway, type GatewayOptions } from '../../proxy/server/start-gateway.ts';
import type { SecretInfo } from '../../controller/compile/compile-types.ts';

export interface StandaloneOptions {
  configDir: string;
  host: string;
  port: number;
  adminPort: number;
  /** CIDRs whose X-Forwarded-For names the client. */
  trustedProxies?: readonly string[];
  /** How long a client may take over a request's headers and between body reads (--client-*-timeout). */
  clientTimeouts?: GatewayOptions['clientTimeouts'];
  /** The Redis of Global rate limits and the bound on local counters (see redis-flags.ts). */
  redis?: GatewayOptions['redis'];
  /** Access-log sampling (docs/access-log.md). */
  accessLog?: GatewayOptions['accessLog'];
  /** Span export over OTLP (docs/tracing.md); off when absent. */
  tracing?: GatewayOptions['tracing'];
  localLimitKeys?: number;
  /** The response caches' memory bound (--cache-max-bytes), and the admin token file purges need (--admin-token-file). */
  cache?: GatewayOptions['cache'];
  adminTokenFile?: string;
  /** How long a WebSocket on a removed or changed route keeps working (--websocket-drain). */
  websocketDrainMs?: number;
  /** The HTTPS listener (--https-port, --tls-min-version) and the port https redirects name. */
  https?: GatewayOptions['https'];
  httpsRedirectPort?: number;
  /** The default certificate: a kubernetes.io/tls Secret manifest in the folder (--default-tls-secret). */
  defaultTlsSecret?: { namespace: string; name: string };
  /** A certificate made at start (--self-signed-tls), used as the default certificate instead. */
  selfSigned?: { certPem: string; keyPem: string };
  logger: Logger;
  /** Where problems with the manifests are written for the person editing them. */
  problems?: NodeJS.WritableStream;
}

export interface Standalone {
  port: number;
  adminPort: number;
  /** The HTTPS port, null without one. */
  httpsPort: number | null;
  /** The gateway's phases of a graceful shutdown (graceful-shutdown.ts), whose release is close(). */
  traffic: TrafficSteps;
  close: () => Promise<void>;
}

const SELF_SIGNED_SECRET = { namespace: 'gatehouse', name: 'self-signed' };

export async function runStandalone(opts: StandaloneOptions): Promise<Standalone> {
  const problemsOut = opts.problems ?? process.stderr;
  const log = opts.logger.child({ component: 'standalone' });
  const gateway = await startGateway({
    host: opts.host,
    port: opts.port,
    adminPort: opts.adminPort,
    logger: opts.logger,
    trustedProxies: opts.trustedProxies ?? [],
    ...(opts.clientTimeouts && { clientTimeouts: opts.clientTimeouts }),
    ...(opts.redis && { redis: opts.redis }),
    ...(opts.accessLog && { accessLog: opts.accessLog }),
    ...(opts.tracing && { tracing: opts.tracing }),
    ...(opts.localLimitKeys !== undefined && { localLimitKeys: opts.localLimitKeys }),
    ...(opts.websocketDrainMs !== undefined && { websocketDrainMs: opts.websocketDrainMs }),
    ...(opts.cache && { cache: opts.cache }),
    ...(opts.adminTokenFile !== undefined && { adminTokenFile: opts.adminTokenFile }),
    ...(opts.https && { https: opts.https }),
    ...(opts.httpsRedirectPort !== undefined && { httpsRedirectPort: opts.httpsRedirectPort }),
  });
  // The self-signed certificate travels as a Secret of its own, the way a folder's Secret would.
  const selfSigned: SecretInfo | undefined = opts.selfSigned && {
    ...SELF_SIGNED_SECRET,
    labels: {},
    data: { 'tls.crt': opts.selfSigned.certPem, 'tls.key': opts.selfSigned.keyPem },
  };
  const defaultTlsSecret = selfSigned ? SELF_SIGNED_SECRET : opts.defaultTlsSecret;
  let lastAccepted = new Map<string, unknown>();
  let servedVersion: string | undefined;
  let lastProblems = '';

  const onSnapshot = (snapshot: FilesSnapshot): void => {
    const { input, errors } = documentsToCompileInput(snapshot.documents);
    input.lastAccepted = lastAccepted;
    if (selfSigned) input.secrets = [...(input.secrets ?? []), selfSigned];
    if (defaultTlsSecret) input.defaultTlsSecret = defaultTlsSecret;
    input.now = Date.now();
    input.files = readBodyFiles(opts.configDir, input.resources);
    const out = compile(input);
    lastAccepted = out.accepted;

    const lines = [
      ...snapshot.problems.map((p) => `${p.error}${p.keptPrevious ? ' (still serving its previous contents)' : ''}`),
      ...errors.map((e) => `${e.origin}: ${e.message}`),
      ...problemLines(out.statuses, originsByKey(input.resources)),
      ...(out.defaultCertificateProblem === null ? [] : [out.defaultCertificateProblem]),
    ];
    // Report only when the set of problems changes, so a watch loop does not flood the terminal.
    const text = lines.join('\n');
    if (text !== lastProblems) {
      if (lines.length > 0) problemsOut.write(`gatehouse: ${lines.length} problem(s) in ${opts.configDir}:\n${lines.map((l) => `  ${l}`).join('\n')}\n`);
      else if (lastProblems !== '') problemsOut.write(`gatehouse: all problems in ${opts.configDir} resolved\n`);
      lastProblems = text;
    }

    if (out.table.version === servedVersion) return;
    const applied = gateway.applyTable(out.table);
    if (applied.ok) {
      servedVersion = out.table.version;
      log.info({ version: out.table.version, routes: out.table.routes.length }, 'serving table');
    } else {
      log.error({ version: out.table.version, err: applied.error }, 'table refused; previous table keeps serving');
    }
  };

  const source = new FilesSource({ dir: opts.configDir, onSnapshot });
  try {
    await source.start();
  } catch (err) {
    await gateway.close();
    throw err;
  }
  return {
    port: gateway.port,
    adminPort: gateway.adminPort,
    httpsPort: gateway.httpsPort,
    traffic: trafficSteps(gateway),
    close: async () => {
      source.close();
      await gateway.close();
    },
  };
}
