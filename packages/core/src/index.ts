/**
 * @veracruz-ts/core: what every package shares and nothing else. The one error type with its
 * closed codes, byte helpers, the PEM encoder and decoder, host:port parsing, and the audited DER
 * reader/writer with the X.509 loader and builder on top of it. Platform-neutral.
 */
export * from './errors.ts';
export * from './bytes.ts';
export * from './pem.ts';
export * from './host-port.ts';
export * from './der.ts';
export * from './x509.ts';
export * from './x509-crl.ts';
export * from './x509-request.ts';
export * from './x509-builder.ts';
export * from './x509-certificate-builder.ts';
