/**
 * `@veracruz-ts/protocol`: the client <-> runtime transport protocol (Veracruz's
 * `transport_protocol` wire format, plus an error detail and ranged reads) and its framing.
 */
export * from './transport/index.ts';
