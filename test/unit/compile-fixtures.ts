// Small builders for compiler inputs in unit tests.
import type { RawResource, ResourceKind } from '../../controller/compile/compile-types.ts';

export const API_VERSION = 'gatehouse.dev/v1alpha1';

export function raw(kind: ResourceKind, name: string, spec: unknown, meta: Record<string, unknown> = {}, namespace = 'default'): RawResource {
  return { kind, namespace, name, object: { apiVersion: API_VERSION, kind, metadata: { name, namespace, ...meta }, spec } };
}

export function apiRoute(name: string, spec: unknown, created?: string, namespace = 'default'): RawResource {
  return raw('ApiRoute', name, spec, created === undefined ? {} : { creationTimestamp: created }, namespace);
}
