// The request id: kept when the client (or a proxy in front) sent a sane one, so a trace spans hops;
// generated otherwise. Anything odd is replaced rather than trusted into logs and upstream headers.
import { randomUUID } from 'node:crypto';

const SANE = /^[A-Za-z0-9._:+/=-]{1,128}$/;

export function requestIdFor(sent: string | string[] | undefined): string {
  return typeof sent === 'string' && SANE.test(sent) ? sent : randomUUID();
}
