import manifest from '../../package.json' with { type: 'json' };

/** vc-client's version: the `@veracruz-ts/client` package's. */
export const CLIENT_VERSION: string = manifest.version;
