/** ECDSA P-256 with SHA-256: the algorithm of isolate keys, the PAS CA and every signature they make. */
export const ECDSA_P256_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
