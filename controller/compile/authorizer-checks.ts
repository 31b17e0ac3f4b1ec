// The Authorizer checks a schema cannot express.
import type { Authorizer } from '../../crds/schemas/index.ts';
import { parseDurationMs } from '../../crds/schemas/index.ts';
import type { FieldProblem } from './field-path.ts';

export function checkAuthorizer(authorizer: Authorizer): FieldProblem[] {
  const problems: FieldProblem[] = [];
  const { jwt, external } = authorizer.spec;
  if (jwt) {
    const seen = new Set<string>();
    jwt.claimsToHeaders?.forEach((c, i) => {
      const header = c.header.toLowerCase();
      if (seen.has(header)) problems.push({ path: `spec.jwt.claimsToHeaders[${i}].header`, message: `header ${JSON.stringify(header)} is set by an earlier entry` });
      seen.add(header);
    });
  }
  if (external && parseDurationMs(external.timeout) < 1) problems.push({ path: 'spec.external.timeout', message: 'must be at least 1ms' });
  return problems;
}
