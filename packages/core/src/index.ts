/**
 * @veracruz-ts/core: what every package shares and nothing else. The one error type with its
 * closed codes, byte helpers, the PEM encoder and decoder, host:port parsing. Platform-neutral.
 */
export * from './errors.ts';
export * from './bytes.ts';
export * from './pem.ts';
export * from './host-port.ts';
