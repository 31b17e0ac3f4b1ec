// What one controller replica publishes about the proxies connected to it, so the leader can count proxies on every
// replica: one ConfigMap per replica in the controller's namespace, labelled with the controller deployment's Lease
// name. It crosses a process boundary (written by one replica, read by another), so it is read back through zod.
// It carries proxy names, the versions they serve and their last errors; never the stream token or addresses.
import { createHash } from 'node:crypto';
import { z } from 'zod';

/** Label on every fleet ConfigMap; its value is the controller deployment (the Lease name, or a hash of it). */
export const FLEET_LABEL = 'gatehouse.dev/fleet-of';
/** The ConfigMap key holding the JSON report. */
export const FLEET_DATA_KEY = 'fleet.json';
/** Bounds what one replica may claim, so a corrupted or hostile object cannot blow up the leader's memory. */
const MAX_PROXIES = 10_000;
const MAX_ERROR_CHARS = 300;

/** What the Programmed conditions need of a proxy, wherever it is connected. */
export interface FleetProxy {
  name: string;
  /** Epoch ms, by the clock of the replica it is connected to (used only to pick the newest of two records). */
  connectedAt: number;
  version: string | null;
  lastAckAt: number | null;
  lastError: { version: string; error: string; at: number } | null;
}

/** A proxy with the replica it is connected to: as another replica reports it, or as the leader counts it. */
export interface ReplicaProxy extends FleetProxy {
  replica: string;
}

const isoTime = z.iso.datetime({ offset: true }).transform((s) => Date.parse(s));
const version = z.string().min(1).max(200);

export const fleetReportSchema = z.object({
  replica: z.string().min(1).max(253),
  heartbeatAt: isoTime,
  proxies: z
    .array(
      z.object({
        name: z.string().min(1).max(253),
        connectedAt: isoTime,
        version: version.nullable(),
        lastAckAt: isoTime.nullable(),
        lastError: z.object({ version, error: z.string().max(MAX_ERROR_CHARS), at: isoTime }).nullable(),
      }),
    )
    .max(MAX_PROXIES),
});
export type FleetReport = z.output<typeof fleetReportSchema>;

/** The JSON a replica writes: times as RFC 3339, errors cut to what a condition message shows anyway. */
export function encodeFleetReport(replica: string, proxies: readonly FleetProxy[], now: number): string {
  const iso = (ms: number): string => new Date(ms).toISOString();
  return JSON.stringify({
    replica,
    heartbeatAt: iso(now),
    proxies: proxies.slice(0, MAX_PROXIES).map((p) => ({
      name: p.name,
      connectedAt: iso(p.connectedAt),
      version: p.version,
      lastAckAt: p.lastAckAt === null ? null : iso(p.lastAckAt),
      lastError: p.lastError === null ? null : { version: p.lastError.version, error: p.lastError.error.slice(0, MAX_ERROR_CHARS), at: iso(p.lastError.at) },
    })),
  });
}

/** The report in a ConfigMap's data, or a reason it cannot be used. */
export function decodeFleetReport(data: Record<string, string> | undefined): { ok: true; report: FleetReport } | { ok: false; error: string } {
  const text = data?.[FLEET_DATA_KEY];
  if (text === undefined) return { ok: false, error: `no ${FLEET_DATA_KEY} key` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { ok: false, error: `${FLEET_DATA_KEY} is not JSON` };
  }
  const parsed = fleetReportSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, error: issue ? `${issue.path.map(String).join('.') || '(root)'}: ${issue.message}` : 'invalid' };
  }
  return { ok: true, report: parsed.data };
}

/** A label value for the controller deployment: the Lease name when it fits (63 chars, label charset), else a hash. */
export function fleetLabelValue(group: string): string {
  return /^[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$/.test(group) ? group : `h-${shortHash(group, 40)}`;
}

/**
 * The ConfigMap name of one replica: `<group>-fleet-<replica>` as a DNS subdomain. The replica identity is free text
 * (`host-1234`, a pod name), so anything outside the charset is replaced, and a hash keeps two identities that
 * sanitise the same apart.
 */
export function fleetObjectName(group: string, replica: string): string {
  const clean = `${group}-fleet-${replica}`.toLowerCase().replace(/[^a-z0-9.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  const exact = clean === `${group}-fleet-${replica}` && clean.length <= 253;
  return exact ? clean : `${clean.slice(0, 240).replace(/[^a-z0-9]+$/, '')}-${shortHash(`${group}\n${replica}`, 10)}`;
}

function shortHash(text: string, chars: number): string {
  return createHash('sha256').update(text).digest('hex').slice(0, chars);
}
