/**
 * `@veracruz-ts/policy/node`: the Node-only part of the package, what the command-line tools share
 * that needs the file system. The package's main entry never imports it, so it stays browser-safe
 * (browser.spec.ts).
 */
export * from './atomic-file.ts';
export * from './stop-signal.ts';
