/**
 * `@veracruz-ts/runtime/session`: the TLS 1.3 session manager and the dispatch of Veracruz's
 * operations, run inside the isolate.
 */
export { SessionManager, type SessionManagerOptions } from './session-manager.ts';
export { outcomeResponse, RequestDispatcher, type RequestDispatcherOptions, type SessionPrincipal } from './dispatch.ts';
export { asVeracruzError, errorResponse, exitCodeBytes, statusForCode, successResponse } from './responses.ts';
export { identityCertificates, type PolicyIdentityCertificate, tlsServerOptions } from './tls-options.ts';
