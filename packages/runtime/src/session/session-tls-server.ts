import { constants } from 'node:crypto';
import tls from 'node:tls';
import { Code, VeracruzError } from '@veracruz-ts/core';

/**
 * A `tls.Server` for one session that uses `secureContext` instead of making a context of its own.
 *
 * Why: the session manager gives every session its own `tls.Server` (so the server checks the client
 * certificate and its events belong to that session), and a `tls.Server` always builds a fresh
 * OpenSSL context from its options (parsing the key, the chain and the CA list; `secureContext` is
 * a TLSSocket option the server ignores). A context is tens of KiB of native memory that V8 does
 * not see, freed only when the server object is collected: under connection churn thousands pile up
 * between collections, and the allocator keeps the fragmented memory for good (20,000 dropped
 * connections and 2,000 sessions left the isolate 330 MiB larger, even after a full collection).
 * Sharing one context made once removes that, and the per-session cost of parsing the key and
 * certificates.
 *
 * node:tls offers no public way to give a server a ready context: the server keeps its context in
 * `_sharedCreds` (as of Node 24), which is what it hands each connection's TLSSocket. The override
 * sets that instead of building one, and {@link createSessionTlsServer} checks it took effect.
 */
class SharedContextServer extends tls.Server {
  override setSecureContext(options: tls.SecureContextOptions & { secureContext?: tls.SecureContext }): void {
    if (options.secureContext === undefined) {
      super.setSecureContext(options);
      return;
    }
    (this as unknown as { _sharedCreds: tls.SecureContext })._sharedCreds = options.secureContext;
  }
}

/**
 * The one context every session's server shares, from the sessions' TLS options: what a tls.Server
 * would make of them (server cipher order, a session id context), and no stateless session tickets.
 * With a context per session a ticket could never resume another session; with one shared context a
 * stateless one could, and a resumed TLS 1.3 session presents no client certificate to check: so none
 * resumes. (OpenSSL still sends stateful tickets, which name a server-side session cache entry; the
 * servers here keep no cache, no 'resumeSession' listener, so they resume nothing: the spec checks it.)
 */
export function createSessionSecureContext(options: tls.TlsOptions): tls.SecureContext {
  return tls.createSecureContext({
    ...options,
    honorCipherOrder: true,
    sessionIdContext: 'veracruz-session-manager',
    secureOptions: (options.secureOptions ?? 0) | constants.SSL_OP_NO_TICKET,
  });
}

/**
 * Makes one session's TLS server from the session options (requestCert, rejectUnauthorized, ...) and
 * the context made once from the same options ({@link createSessionSecureContext}). Throws if this Node's
 * tls.Server no longer takes the context this way (rather than serve with a context without a key).
 */
export function createSessionTlsServer(options: tls.TlsOptions, secureContext: tls.SecureContext): tls.Server {
  const server = new SharedContextServer({ ...options, secureContext });
  if ((server as unknown as { _sharedCreds?: unknown })._sharedCreds !== secureContext) {
    throw new VeracruzError(Code.Internal, 'node:tls: a tls.Server no longer takes a shared secure context through _sharedCreds');
  }
  return server;
}
