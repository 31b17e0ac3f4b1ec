// Backends told not to verify their certificate: valid, served, and said so in the Accepted condition every time
// the status is written, so an `insecureSkipVerify: true` left over from a test does not go unnoticed.
import type { ApiRoute } from '../../crds/schemas/index.ts';

const WARNING = "tls.insecureSkipVerify is true: the backend's certificate is not verified, so anyone on the network path can impersonate it";

export function insecureBackendNotes(route: ApiRoute): string[] {
  const notes: string[] = [];
  route.spec.rules.forEach((rule, i) => {
    (rule.backends ?? []).forEach((b, k) => {
      if (b.tls?.insecureSkipVerify === true) notes.push(`spec.rules[${i}].backends[${k}].${WARNING}`);
    });
    rule.canary?.backends.forEach((b, k) => {
      if (b.tls?.insecureSkipVerify === true) notes.push(`spec.rules[${i}].canary.backends[${k}].${WARNING}`);
    });
  });
  return notes;
}
