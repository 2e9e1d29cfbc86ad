export * from './messages.ts';
export * from './codec.ts';
export * from './framing.ts';
