/**
 * `@veracruz-ts/attestation/testing`: support for tests only. A configfs-tsm stand-in that
 * answers report requests from a directory, as the kernel would inside a confidential VM.
 */
export { TsmTestDouble, type TsmTestDoubleOptions } from './evidence/tsm-double.ts';
