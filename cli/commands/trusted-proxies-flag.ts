// --trusted-proxies CIDR[,CIDR…]: the load balancers or ingress in front of the gateway, whose X-Forwarded-For is
// believed when it names the client (for client IP rules, authorizers and logs). Default: none.
import { z } from 'zod';
import { isCidr } from '../../crds/schemas/cidr.ts';
import { defineFlags } from './flag-definitions.ts';

export const TRUSTED_PROXIES_FLAGS = defineFlags({
  'trusted-proxies': {
    value: 'CIDR,…',
    schema: z
      .string()
      .transform((text) => text.split(',').map((c) => c.trim()).filter((c) => c !== ''))
      .refine((cidrs) => cidrs.every(isCidr), 'must be comma-separated CIDRs such as "10.0.0.0/8,fd00::/8"'),
    description: 'the load balancers whose X-Forwarded-For names the client (default: none)',
  },
});
