// A Deployment's container as a local process, the way its pod would see the world: Secret and emptyDir volumes
// written under a temporary root at their mount paths, every argument that names a path under a mount rewritten to
// the local copy, the environment resolved (values, the pod's name and namespace, Secret keys) and `$(VAR)` in the
// arguments expanded as the kubelet does. A chart whose flags name a file its volumes do not provide fails here,
// without a kubelet. Anything the helper does not know how to reproduce (a ConfigMap volume, a resourceFieldRef)
// throws, so a chart change that needs it cannot pass unnoticed.
import { chmod, mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { z } from 'zod';
import type { K8sObject } from './helm-chart-support.ts';

const keyToPath = z.object({ key: z.string(), path: z.string(), mode: z.number().int().optional() });
const volumeSchema = z.object({
  name: z.string(),
  secret: z.object({ secretName: z.string(), defaultMode: z.number().int().optional(), items: z.array(keyToPath).optional() }).optional(),
  emptyDir: z.looseObject({}).optional(),
});
const envSchema = z.object({
  name: z.string(),
  value: z.string().optional(),
  valueFrom: z
    .object({
      fieldRef: z.object({ fieldPath: z.string() }).optional(),
      secretKeyRef: z.object({ name: z.string(), key: z.string() }).optional(),
    })
    .optional(),
});
const containerSchema = z.object({
  name: z.string(),
  args: z.array(z.string()).default([]),
  env: z.array(envSchema).default([]),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })).default([]),
});
const deploymentSchema = z.object({
  metadata: z.object({ namespace: z.string() }),
  spec: z.object({ template: z.object({ spec: z.object({ containers: z.array(containerSchema).min(1), volumes: z.array(volumeSchema).default([]) }) }) }),
});

/** A Secret's data, decoded (what the kubelet would project into files or env). */
export type ReadSecret = (namespace: string, name: string) => Promise<Record<string, Buffer>>;

export interface LocalContainer {
  /** The container's args with mount paths rewritten and `$(VAR)` expanded. */
  args: string[];
  /** The container's env, resolved. */
  env: Record<string, string>;
}

export async function localContainer(deployment: K8sObject, podName: string, root: string, readSecret: ReadSecret): Promise<LocalContainer> {
  const d = deploymentSchema.parse(deployment);
  const namespace = d.metadata.namespace;
  const pod = d.spec.template.spec;
  const container = pod.containers[0]!;

  const env: Record<string, string> = {};
  for (const e of container.env) {
    if (e.value !== undefined) env[e.name] = expand(e.value, env);
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') env[e.name] = podName;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') env[e.name] = namespace;
    else if (e.valueFrom?.secretKeyRef) {
      const ref = e.valueFrom.secretKeyRef;
      const value = (await readSecret(namespace, ref.name))[ref.key];
      if (value === undefined) throw new Error(`env ${e.name}: Secret ${ref.name} has no key ${ref.key}`);
      env[e.name] = value.toString();
    } else throw new Error(`env ${e.name}: a source this helper does not reproduce: ${JSON.stringify(e.valueFrom)}`);
  }

  // Longest mount path first, so /a/b wins over /a.
  const mounts = [...container.volumeMounts].sort((a, b) => b.mountPath.length - a.mountPath.length);
  for (const mount of mounts) {
    const volume = pod.volumes.find((v) => v.name === mount.name);
    if (volume === undefined) throw new Error(`volumeMount ${mount.name}: no such volume in the pod`);
    const dir = join(root, mount.mountPath);
    await mkdir(dir, { recursive: true });
    if (volume.emptyDir !== undefined) continue;
    if (volume.secret === undefined) throw new Error(`volume ${volume.name}: a kind this helper does not reproduce`);
    const data = await readSecret(namespace, volume.secret.secretName);
    const items = volume.secret.items ?? Object.keys(data).map((key) => ({ key, path: key, mode: undefined }));
    for (const item of items) {
      const value = data[item.key];
      if (value === undefined) throw new Error(`volume ${volume.name}: Secret ${volume.secret.secretName} has no key ${item.key}`);
      const file = join(dir, item.path);
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, value);
      await chmod(file, item.mode ?? volume.secret.defaultMode ?? 0o644);
    }
  }

  const args = container.args.map((arg) => {
    const out = expand(arg, env);
    // One rewrite per argument: the local root may itself lie under a mount path (/tmp).
    for (const mount of mounts) {
      const pattern = new RegExp(`(^|=)${escapeRegExp(mount.mountPath)}(?=/|$)`);
      if (pattern.test(out)) return out.replace(pattern, `$1${join(root, mount.mountPath)}`);
    }
    return out;
  });
  return { args, env };
}

/** The kubelet's `$(VAR)` expansion: defined variables are replaced, `$$` escapes, anything else is left as written. */
function expand(text: string, env: Record<string, string>): string {
  return text.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (whole, name: string | undefined) => {
    if (name === undefined) return '$';
    return env[name] ?? whole;
  });
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
