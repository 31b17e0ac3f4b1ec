// The three kinds in one place, for the sources (which parse) and the CRD generator (which emits).
export * from './metadata.ts';
export * from './api-route.ts';
export * from './authorizer.ts';
export * from './rate-policy.ts';
export { parseDurationMs, parseSizeBytes } from './quantities.ts';
