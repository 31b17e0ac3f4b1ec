// The scopes a token grants, for route-level scope requirements: OAuth's space-delimited `scope` string
// (RFC 8693 §4.2), and the `scp` claim some IdPs send instead, as an array (Okta, Azure AD v1) or a string.
// Either claim may take either form; non-string entries are ignored.

export function grantedScopes(claims: Readonly<Record<string, unknown>>): Set<string> {
  const scopes = new Set<string>();
  for (const claim of [claims.scope, claims.scp]) {
    if (typeof claim === 'string') addSpaceDelimited(scopes, claim);
    else if (Array.isArray(claim)) for (const entry of claim) if (typeof entry === 'string') addSpaceDelimited(scopes, entry);
  }
  return scopes;
}

function addSpaceDelimited(scopes: Set<string>, value: string): void {
  for (const scope of value.split(/\s+/)) if (scope !== '') scopes.add(scope);
}
