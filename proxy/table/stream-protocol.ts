// The controller ↔ proxy stream: every message either side sends, validated on receipt by both.
// Owned by the proxy (it defines what it accepts), like the table itself.
//
// Framing: a text frame is one JSON message; a binary frame is one gzip'd JSON message (tables are compressed
// once per version by the controller and the same bytes go to every proxy).
//
// A full table travels as `table-part` messages 0..parts-1 of one version: each part carries a slice of the routes
// and of the backends, so the proxy parses and validates it a slice at a time and never stalls on one big message.
// `schema` is not pinned here: a proxy that receives a schema it does not know answers with a NACK saying so.
import { z } from 'zod';
import { tableAuthorizerSchema, tableBackendSchema, tableCertificateSchema, tableEndpointSchema, tableRatePolicySchema, tableRouteSchema, tableTlsHostSchema } from './table-schema.ts';

/** Bumped when a message changes meaning; the controller refuses proxies that speak another one. 2: `fleet`. */
export const STREAM_PROTOCOL_VERSION = 2;

/** The WebSocket subprotocol both sides negotiate, so a mismatched peer fails at the upgrade. */
export const STREAM_SUBPROTOCOL = `gatehouse.dev.stream.v${STREAM_PROTOCOL_VERSION}`;

const version = z.string().min(1).max(200);

// ── controller → proxy ─────────────────────────────────────────────────────────────────────────────────────────

export const tablePartMessage = z.object({
  type: z.literal('table-part'),
  version,
  schema: z.number().int(),
  part: z.number().int().min(0),
  parts: z.number().int().min(1).max(100_000),
  routes: z.array(tableRouteSchema),
  backends: z.array(tableBackendSchema),
  authorizers: z.array(tableAuthorizerSchema),
  ratePolicies: z.array(tableRatePolicySchema),
  certificates: z.array(tableCertificateSchema),
  tlsHosts: z.array(tableTlsHostSchema),
});
export type TablePartMessage = z.output<typeof tablePartMessage>;

/** New endpoints for some backends; the routes (and so the proxy's router) stay as they are. */
export const endpointsMessage = z.object({
  type: z.literal('endpoints'),
  /** The version the update applies to; a proxy serving another one NACKs with `resync`. */
  baseVersion: version,
  version,
  backends: z.array(z.object({ id: z.string().min(1), endpoints: z.array(tableEndpointSchema) })).min(1),
});
export type EndpointsMessage = z.output<typeof endpointsMessage>;

const listDelta = <T extends z.ZodType>(item: T) =>
  z.object({
    removed: z.array(z.string().min(1)),
    changed: z.array(item),
    added: z.array(z.object({ after: z.string().min(1).nullable(), item })),
  });

/**
 * The routes, backends, authorizers and rate policies that differ from `baseVersion` (see list-delta.ts for how they are applied). Only these
 * are validated and rebuilt; a proxy serving another version, or one that cannot apply it, NACKs with `resync` and
 * gets the whole table.
 */
export const deltaMessage = z.object({
  type: z.literal('delta'),
  baseVersion: version,
  version,
  schema: z.number().int(),
  routes: listDelta(tableRouteSchema),
  backends: listDelta(tableBackendSchema),
  authorizers: listDelta(tableAuthorizerSchema),
  ratePolicies: listDelta(tableRatePolicySchema),
  certificates: listDelta(tableCertificateSchema),
  tlsHosts: listDelta(tableTlsHostSchema),
});
export type DeltaMessage = z.output<typeof deltaMessage>;

/**
 * How many proxies the fleet has, as the controller replicas count them together (sent on connect and on change).
 * Not part of the table: it is not configuration, and a proxy joining must not make a new table version. A Global
 * rate limit's local fallback (Redis unreachable) admits 1/proxies of the limit.
 */
export const fleetMessage = z.object({
  type: z.literal('fleet'),
  proxies: z.number().int().min(1).max(100_000),
});
export type FleetMessage = z.output<typeof fleetMessage>;

export const controllerMessage = z.discriminatedUnion('type', [tablePartMessage, endpointsMessage, deltaMessage, fleetMessage]);
export type ControllerMessage = z.output<typeof controllerMessage>;

// ── proxy → controller ─────────────────────────────────────────────────────────────────────────────────────────

const proxyName = z.string().min(1).max(253);

/** First message after connecting: who the proxy is and what it serves already (from its table file). */
export const helloMessage = z.object({
  type: z.literal('hello'),
  name: proxyName,
  /** The version it serves, null before any table; equal to the controller's current one means nothing is sent. */
  version: version.nullable(),
});

export const ackMessage = z.object({ type: z.literal('ack'), version });

export const nackMessage = z.object({
  type: z.literal('nack'),
  version,
  error: z.string().max(4_000),
  /** The proxy could not use an incremental update (another base version): send it the whole table. */
  resync: z.boolean().optional(),
});

export const proxyMessage = z.discriminatedUnion('type', [helloMessage, ackMessage, nackMessage]);
export type ProxyMessage = z.output<typeof proxyMessage>;
