/**
 * The X.509 library, loaded after the Reflect polyfill its dependency injection needs.
 * Every file of this package that handles certificates imports `x509` from here, so the
 * load order is right whichever file a program imports first.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

export { x509 };

/** ECDSA P-256 with SHA-256: the algorithm of isolate keys, the PAS CA and every signature they make. */
export const ECDSA_P256_SHA256 = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
