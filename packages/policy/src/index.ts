export * from './errors.ts';
export * from './rights.ts';
export * from './pipeline.ts';
