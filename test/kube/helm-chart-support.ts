// Helpers for the Helm chart tests (charts/gatehouse): the built helm with its own temp HELM_* homes, rendering
// the chart into parsed objects, and the CLI's usage text to check the rendered flags against.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { kubeBinDir, REPO_ROOT, runBinary, type KubectlResult } from './control-plane.ts';

export const CHART_DIR = join(REPO_ROOT, 'charts/gatehouse');
const ENSURE = 'bash test/kube/ensure-binaries.sh --helm';

/** Why the chart tests cannot run (helm not built), or undefined. */
export function helmProblem(): string | undefined {
  const helm = join(kubeBinDir(), 'helm');
  if (existsSync(helm)) return undefined;
  return `helm missing in ${kubeBinDir()}. Build it once (tools/kube/helm, ~2.5–3.5 min cold; \`npm run kube-bin\` does it):\n\n    ${ENSURE}\n`;
}

/** A Kubernetes object as rendered (loosely typed: the tests assert on its fields). */
export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  [field: string]: unknown;
}

export interface Helm {
  bin: string;
  /** Run helm (never throws on a non-zero exit); 60 s timeout by default. */
  run(args: string[], options?: { timeoutMs?: number }): Promise<KubectlResult>;
  /** `helm template` of the chart with these values (written to a values file), parsed; throws on a helm error. */
  template(values: Record<string, unknown>, options?: { release?: string; namespace?: string }): Promise<K8sObject[]>;
  /** Write a values file in the temp dir and return its path. */
  valuesFile(values: Record<string, unknown>): Promise<string>;
  /** Remove the temp dir (HELM_* homes, values files). Idempotent. */
  cleanup(): Promise<void>;
}

/**
 * The built helm, with HELM_CACHE_HOME/CONFIG_HOME/DATA_HOME in a temp dir (nothing written to $HOME) and
 * KUBECONFIG set to `kubeconfigPath` (or unset: `helm lint`/`template` need no cluster).
 */
export async function makeHelm(kubeconfigPath?: string): Promise<Helm> {
  const problem = helmProblem();
  if (problem !== undefined) throw new Error(problem);
  const bin = join(kubeBinDir(), 'helm');
  const dir = await mkdtemp(join(tmpdir(), 'gatehouse-helm-'));
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    HELM_CACHE_HOME: join(dir, 'cache'),
    HELM_CONFIG_HOME: join(dir, 'config'),
    HELM_DATA_HOME: join(dir, 'data'),
  };
  delete env.KUBECONFIG;
  delete env.HELM_NAMESPACE;
  delete env.HELM_KUBECONTEXT;
  delete env.KUBERNETES_SERVICE_HOST;
  if (kubeconfigPath !== undefined) env.KUBECONFIG = kubeconfigPath;
  let files = 0;
  let removed = false;
  const run = (args: string[], options: { timeoutMs?: number } = {}): Promise<KubectlResult> =>
    runBinary(bin, args, { env, timeoutMs: options.timeoutMs ?? 60_000 });
  const valuesFile = async (values: Record<string, unknown>): Promise<string> => {
    const path = join(dir, `values-${++files}.json`); // JSON is YAML
    await writeFile(path, JSON.stringify(values));
    return path;
  };
  return {
    bin,
    run,
    valuesFile,
    async template(values, options = {}) {
      const args = ['template', options.release ?? 'gh', CHART_DIR, '--namespace', options.namespace ?? 'gatehouse-system', '-f', await valuesFile(values)];
      const r = await run(args);
      if (r.code !== 0) throw new Error(`helm ${args.join(' ')} failed (exit ${r.code}):\n${r.stderr}`);
      return parseObjects(r.stdout);
    },
    async cleanup() {
      if (removed) return;
      removed = true;
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Every non-empty document of a multi-document YAML stream; throws on a YAML error. */
export function parseObjects(text: string): K8sObject[] {
  const out: K8sObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`rendered YAML does not parse: ${doc.errors[0]?.message}`);
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue;
    out.push(value as K8sObject);
  }
  return out;
}

/** The one object of this kind and name; fails listing what there is. */
export function find(objects: K8sObject[], kind: string, name: string, namespace?: string): K8sObject {
  const hit = objects.filter((o) => o.kind === kind && o.metadata.name === name && (namespace === undefined || o.metadata.namespace === namespace));
  if (hit.length !== 1) {
    throw new Error(`expected one ${kind} ${namespace ?? '*'}/${name}, found ${hit.length}; rendered: ${objects.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}/${o.metadata.name}`).join(', ')}`);
  }
  return hit[0] as K8sObject;
}

export function kinds(objects: K8sObject[]): string[] {
  return objects.map((o) => `${o.kind}/${o.metadata.name}`).sort();
}

const exec = promisify(execFile);

/**
 * The usage lines of one command as `gatehouse <command> --help` prints them: its line in the usage and the
 * continuation lines under it (up to the next command).
 */
export async function commandUsage(command: 'controller' | 'proxy'): Promise<string> {
  const { stdout } = await exec(process.execPath, [join(REPO_ROOT, 'cli/gatehouse.ts'), command, '--help'], { cwd: REPO_ROOT, timeout: 30_000 });
  const lines = stdout.split('\n');
  const start = lines.findIndex((l) => l.startsWith(`  ${command} `));
  if (start < 0) throw new Error(`no "${command}" line in the usage:\n${stdout}`);
  const end = lines.findIndex((l, i) => i > start && /^ {2}\S/.test(l));
  return lines.slice(start, end < 0 ? undefined : end).join('\n');
}

/** The flag names in a usage text (`--stream-port` → "stream-port"). */
export function usageFlags(usage: string): Set<string> {
  return new Set([...usage.matchAll(/--([a-z][a-z0-9-]*)/g)].map((m) => m[1] as string));
}

/** The flag names of rendered container args (`--admin-port=9091`, `--redis-tls`). */
export function argFlags(args: string[]): string[] {
  return args.filter((a) => a.startsWith('--')).map((a) => a.slice(2).split('=')[0] as string);
}
