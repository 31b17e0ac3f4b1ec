// The part of Kubernetes object metadata the gateway reads, and the status shape it writes.
import { z } from 'zod';

export const GROUP = 'gatehouse.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;

export const objectNameSchema = z.string().min(1).max(253).regex(DNS_SUBDOMAIN, 'must be a lowercase DNS subdomain name');

export const metadataSchema = z.object({
  name: objectNameSchema,
  namespace: z.string().max(63).regex(DNS_LABEL, 'must be a lowercase DNS label').default('default'),
  uid: z.string().optional(),
  generation: z.number().int().nonnegative().optional(),
  resourceVersion: z.string().optional(),
  creationTimestamp: z.string().optional(),
  labels: z.record(z.string(), z.string()).optional(),
  annotations: z.record(z.string(), z.string()).optional(),
});
export type ObjectMeta = z.output<typeof metadataSchema>;

/** A reference to another object of the gateway's kinds, in the same namespace. */
export const localRefSchema = z.object({ name: objectNameSchema });

export const conditionStatusSchema = z.enum(['True', 'False', 'Unknown']);

export const conditionSchema = z.object({
  type: z.string(),
  status: conditionStatusSchema,
  reason: z.string(),
  message: z.string(),
  observedGeneration: z.number().int().optional(),
  lastTransitionTime: z.string().optional(),
});
export type Condition = z.output<typeof conditionSchema>;

export const statusSchema = z.object({
  observedGeneration: z.number().int().optional(),
  /** Keyed by type, so server-side apply merges one condition at a time. */
  conditions: z
    .array(conditionSchema)
    .meta({ 'x-kubernetes-list-type': 'map', 'x-kubernetes-list-map-keys': ['type'] })
    .optional(),
});
