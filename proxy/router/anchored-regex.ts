// Every regex in the table is a full match (as in Envoy and the Gateway API), so a pattern cannot
// accidentally match a fragment; a bad pattern names its route because the table was supposed to be valid.

export function compileAnchoredRegex(pattern: string, what: string, routeId: string): RegExp {
  try {
    return new RegExp(`^(?:${pattern})$`);
  } catch (err) {
    throw new Error(`route ${routeId}: invalid ${what} regex ${JSON.stringify(pattern)}: ${(err as Error).message}`, { cause: err });
  }
}
