/**
 * The files a service may touch: the writer's view of the file system, with the writer's rights
 * checked on every call (a refusal throws). The one way services reach files.
 */
export interface ServiceFiles {
  /** The whole contents of the file at `path`. */
  readFile(path: string): Uint8Array;
  /** Replaces the contents of the file at `path`, creating it. */
  writeFile(path: string, data: Uint8Array): void;
  /** Appends to the file at `path`, creating it. */
  appendFile(path: string, data: Uint8Array): void;
}

/**
 * A native service reached through a special file (Veracruz "static native module"): a program
 * writes a request to the file and the service reads and writes files with the writer's rights.
 */
export interface NativeService {
  /** The policy name, e.g. `AEAD Service`. */
  readonly name: string;
  /**
   * Parses a request from the bytes written so far: `undefined` while they are not yet a complete
   * request (the writer may still be writing), the request otherwise. Throws on a request that can
   * never become valid.
   */
  parse(bytes: Uint8Array): unknown;
  /** Serves a parsed request with the writer's view of the file system. */
  serve(request: unknown, writer: ServiceFiles): void;
}

/** A service to mount: the policy `native_modules` entry's name and its special file path. */
export interface ServiceSpec {
  /** A built-in service's name: `AEAD Service`, `Counter mode AES Service` or `Postcard Service`. */
  name: string;
  /** Absolute path of the special file, e.g. `/services/aead.dat`. */
  specialFile: string;
}
