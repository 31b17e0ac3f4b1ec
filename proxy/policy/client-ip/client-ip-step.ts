// A route's client IP rules (AWS resource policies' IP conditions): an address in `deny` is refused; when `allow` is
// not empty, only addresses in it are admitted. Synchronous: two BlockList checks.
import type { BlockList } from 'node:net';
import type { TableClientIpRules } from '../../table/table-schema.ts';
import type { Denial, PolicyContext, PolicyStep, StepOutcome } from '../policy-types.ts';
import { cidrList, contains } from './client-address.ts';

const FORBIDDEN: Denial = { status: 403, error: 'forbidden', reason: 'client-ip' };

export class ClientIpStep implements PolicyStep {
  readonly #allow: BlockList | null;
  readonly #deny: BlockList | null;

  constructor(rules: TableClientIpRules) {
    this.#allow = rules.allow.length === 0 ? null : cidrList(rules.allow);
    this.#deny = rules.deny.length === 0 ? null : cidrList(rules.deny);
  }

  run(ctx: PolicyContext): StepOutcome {
    const ip = ctx.clientIp;
    if (this.#deny !== null && contains(this.#deny, ip)) return FORBIDDEN;
    if (this.#allow !== null && !contains(this.#allow, ip)) return FORBIDDEN;
    return null;
  }
}
