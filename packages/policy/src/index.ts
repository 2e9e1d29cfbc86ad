export * from './errors.ts';
export * from './bytes.ts';
export * from './rights.ts';
export * from './pipeline.ts';
export * from './identity.ts';
export * from './certificate.ts';
export * from './policy.ts';
export * from './json-duplicates.ts';
