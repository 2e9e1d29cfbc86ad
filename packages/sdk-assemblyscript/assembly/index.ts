// @veracruz-ts/sdk-assemblyscript: programs for Veracruz-ts isolates in AssemblyScript. Typed bindings to the
// programs' ABI (docs/program-abi.md: `veracruz_crypto_v1`, `veracruz_v1`) and file helpers over WASI preview1.
// Build with the package's buildAssemblyScript (asc with @assemblyscript/wasi-shim, so no `env` imports).

export { crypto_v1, veracruz_v1 } from "./abi";
export { Errno, ExitCode, Result, errnoName, exit, fail, print, printError } from "./result";
export { OUT_LEN, Output, WordsOutput, utf8 } from "./output";
export { Alg, Crypto, EccFamily, Key, KeyAttributes, KeyType, Usage, toHex } from "./crypto";
export { Policy, Rights, isProgramSubject, programSubject, signResult } from "./policy";
export { appendFile, fileError, fileExists, readFile, readText, writeFile, writeText } from "./files";
