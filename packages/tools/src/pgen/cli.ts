/**
 * vc-pgen's command line: `vc-pgen [generate] FLAGS` writes a policy (Veracruz's flags),
 * `vc-pgen explain POLICY` summarises one for a party about to agree to it, `vc-pgen identity
 * NAME` creates a principal's key and certificate. File and console I/O live here; the rules
 * live in generate.ts and explain.ts.
 */
import { createHash } from 'node:crypto';
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Code, VeracruzError, createIdentity, parsePolicy } from '@veracruz-ts/policy';
import { explainPolicy, renderExplanation } from './explain.ts';
import { baseName, buildPolicy, parseRenamablePaths, withLeadingSlash, type HashedFile, type NativeModuleInput } from './generate.ts';
import { stringifySorted } from './json.ts';

/** Where the CLI writes; replaceable for tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stdout is a terminal (colours in `explain`). */
  isTTY: boolean;
}

const USAGE = `Usage:
  vc-pgen [generate] -c CERT -p CAPS [-c CERT -p CAPS ...] -w [PATH=]FILE -p CAPS ...
          -s HOST:PORT -t HOST:PORT --proxy-attestation-server-cert FILE -x DATE
          (-b FILE | -l FILE | --sevsnp-hash HEX | --tdx-hash HEX) [options]
  vc-pgen explain POLICY.json [--at ISO-DATE] [--expiring-days N] [--json] [--fail-on high|medium|low|info]
  vc-pgen identity NAME [--out-dir DIR] [--days N] [--force]

Generate options (Veracruz's vc-pgen flags):
  -c, --certificate FILE          identity certificate (repeat; ids in order)
  -p, --capability CAPS           "path:rights,..." rights = r|w|x combos or a number; one per
                                  certificate, then per program, then per pipeline, in order
  -w, --program-binary [PATH=]FILE  program (repeat or comma list); PATH defaults to /program/<basename>
      --pipeline SCRIPT           pipeline script (repeat; named "0", "1", ...)
  -s, --veracruz-server-ip HOST:PORT
  -t, --proxy-attestation-server-ip HOST:PORT
      --proxy-attestation-server-cert FILE   PAS CA certificate (PEM)
  -b, --css-file FILE             linux runtime bundle; its SHA-256 is runtime_manager_hash_linux
  -l, --pcr-file FILE             nitro PCR0 (hex); first 64 digits are runtime_manager_hash_nitro
      --sevsnp-hash HEX           runtime_manager_hash_sevsnp
      --tdx-hash HEX              runtime_manager_hash_tdx
  -x, --certificate-expiry DATE   RFC 2822 or ISO 8601 (enclave_cert_expiry)
  -d, --enclave-debug-mode        debug: true
  -e, --execution-strategy S      Interpretation | JIT (default JIT)
  -n, --enable-clock              enable_clock: true
  -m, --max-memory-mib N          default 256
  -h, --hashes [PATH=]FILE        fix a data file's content (repeat or comma list); PATH defaults to /FILE
      --native-module-name NAME, --native-module-special-file PATH, --native-module-entry-point PATH
                                  (repeat each in parallel; no entry point = Static)
      --program-limits PATH:timeout_ms=N,fuel=N,max_memory_mib=N   limits of one program
      --limits timeout_ms=N,fuel=N,max_memory_mib=N                default limits
      --ciphersuite NAME          default TLS1_3_CHACHA20_POLY1305_SHA256
  -o, --output-policy-file FILE   default output.json; "-" writes to stdout
      --help
Prints "<policy sha256>  <file>" when done. Exit status: 0 success, 1 invalid input, 2 bad usage,
3 (explain --fail-on) a risk at or above that severity was found.`;

class UsageError extends Error {}

function sha256Hex(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

async function readInput(file: string, flag: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (error as Error).message;
    throw new VeracruzError(Code.InvalidPolicy, `${flag} ${file}: ${reason}`);
  }
}

async function hashFiles(values: string[] | undefined, flag: string, defaultPath: (file: string) => string): Promise<HashedFile[]> {
  const files: HashedFile[] = [];
  for (const value of values ?? []) {
    let parsed: { policyPath: string; file: string }[];
    try {
      parsed = parseRenamablePaths(value, defaultPath);
    } catch (error) {
      throw new VeracruzError(Code.InvalidPolicy, `${flag} ${VeracruzError.from(error).rawMessage}`);
    }
    for (const { policyPath, file } of parsed) {
      files.push({ policyPath, source: file, sha256: sha256Hex(await readInput(file, flag)) });
    }
  }
  return files;
}

function required(value: string | undefined, flag: string): string {
  if (value === undefined || value === '') throw new UsageError(`${flag} is required`);
  return value;
}

function hexHash(value: string | undefined, flag: string): string | undefined {
  if (value === undefined) return undefined;
  const hex = value.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new VeracruzError(Code.InvalidPolicy, `${flag}: expected 64 hex digits (SHA-256), got ${JSON.stringify(value)}`);
  return hex;
}

async function generate(args: string[], io: CliIO): Promise<number> {
  const { values } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    options: {
      certificate: { type: 'string', short: 'c', multiple: true },
      capability: { type: 'string', short: 'p', multiple: true },
      'program-binary': { type: 'string', short: 'w', multiple: true },
      pipeline: { type: 'string', multiple: true },
      'veracruz-server-ip': { type: 'string', short: 's' },
      'proxy-attestation-server-ip': { type: 'string', short: 't' },
      'proxy-attestation-server-cert': { type: 'string' },
      'css-file': { type: 'string', short: 'b' },
      'pcr-file': { type: 'string', short: 'l' },
      'sevsnp-hash': { type: 'string' },
      'tdx-hash': { type: 'string' },
      'certificate-expiry': { type: 'string', short: 'x' },
      'enclave-debug-mode': { type: 'boolean', short: 'd' },
      'execution-strategy': { type: 'string', short: 'e' },
      'enable-clock': { type: 'boolean', short: 'n' },
      'max-memory-mib': { type: 'string', short: 'm' },
      hashes: { type: 'string', short: 'h', multiple: true },
      'native-module-name': { type: 'string', multiple: true },
      'native-module-special-file': { type: 'string', multiple: true },
      'native-module-entry-point': { type: 'string', multiple: true },
      'program-limits': { type: 'string', multiple: true },
      limits: { type: 'string' },
      ciphersuite: { type: 'string' },
      'output-policy-file': { type: 'string', short: 'o' },
    },
  });
  const certificateFiles = values.certificate ?? [];
  if (certificateFiles.length === 0) throw new UsageError('at least one --certificate is required');
  const veracruzServer = required(values['veracruz-server-ip'], '--veracruz-server-ip (-s)');
  const proxyAttestationServer = required(values['proxy-attestation-server-ip'], '--proxy-attestation-server-ip (-t)');
  const pasCertFile = required(values['proxy-attestation-server-cert'], '--proxy-attestation-server-cert');
  const expiryText = required(values['certificate-expiry'], '--certificate-expiry (-x)');
  const certificateExpiry = new Date(expiryText);
  if (Number.isNaN(certificateExpiry.getTime())) {
    throw new VeracruzError(Code.InvalidPolicy, `--certificate-expiry ${JSON.stringify(expiryText)}: not a date (expected RFC 2822 or ISO 8601)`);
  }
  const maxMemoryText = values['max-memory-mib'] ?? '256';
  if (!/^[0-9]+$/.test(maxMemoryText)) throw new VeracruzError(Code.InvalidPolicy, `--max-memory-mib: expected a positive integer, got ${JSON.stringify(maxMemoryText)}`);

  const certificates = [];
  for (const file of certificateFiles) certificates.push({ source: file, pem: (await readInput(file, '--certificate')).toString('utf8') });
  const programs = await hashFiles(values['program-binary'], '--program-binary', (file) => `/program/${baseName(file)}`);
  const hashes = await hashFiles(values.hashes, '--hashes', (file) => withLeadingSlash(file));

  let nitro: string | undefined;
  if (values['pcr-file'] !== undefined) {
    const content = (await readInput(values['pcr-file'], '--pcr-file')).toString('utf8').replace(/\s+/g, '');
    // Nitro's PCR0 is SHA-384; Veracruz keeps its first 32 bytes.
    nitro = hexHash(content.slice(0, 64), `--pcr-file ${values['pcr-file']}`);
  }
  const linux = values['css-file'] === undefined ? undefined : sha256Hex(await readInput(values['css-file'], '--css-file'));

  const names = values['native-module-name'] ?? [];
  const specialFiles = values['native-module-special-file'] ?? [];
  const entryPoints = values['native-module-entry-point'] ?? [];
  for (const [flag, list] of [['--native-module-special-file', specialFiles], ['--native-module-entry-point', entryPoints]] as const) {
    if (list.length !== 0 && list.length !== names.length) {
      throw new VeracruzError(Code.InvalidPolicy, `${flag} given ${list.length} times for ${names.length} --native-module-name values: give one per module (empty allowed)`);
    }
  }
  const nativeModules: NativeModuleInput[] = names.map((name, index) => ({
    name,
    specialFile: specialFiles[index] ?? '',
    entryPoint: entryPoints[index] ?? '',
  }));

  const value = buildPolicy({
    certificates,
    capabilities: values.capability ?? [],
    programs,
    pipelines: values.pipeline ?? [],
    hashes,
    veracruzServer,
    proxyAttestationServer,
    proxyServiceCertPem: (await readInput(pasCertFile, '--proxy-attestation-server-cert')).toString('utf8'),
    runtimeHashes: {
      ...(linux === undefined ? {} : { linux }),
      ...(nitro === undefined ? {} : { nitro }),
      ...(values['sevsnp-hash'] === undefined ? {} : { sevsnp: hexHash(values['sevsnp-hash'], '--sevsnp-hash')! }),
      ...(values['tdx-hash'] === undefined ? {} : { tdx: hexHash(values['tdx-hash'], '--tdx-hash')! }),
    },
    certificateExpiry,
    debug: values['enclave-debug-mode'] ?? false,
    executionStrategy: values['execution-strategy'] ?? 'JIT',
    enableClock: values['enable-clock'] ?? false,
    maxMemoryMib: Number(maxMemoryText),
    nativeModules,
    programLimits: values['program-limits'] ?? [],
    ...(values.limits === undefined ? {} : { limits: values.limits }),
    ...(values.ciphersuite === undefined ? {} : { ciphersuite: values.ciphersuite }),
  });
  const text = stringifySorted(value);
  const bytes = new TextEncoder().encode(text);

  // Never hand out a policy our own parser refuses.
  let policy;
  try {
    policy = await parsePolicy(bytes);
  } catch (error) {
    throw new VeracruzError(Code.InvalidPolicy, `the generated policy does not parse: ${VeracruzError.from(error).rawMessage}`, { cause: error });
  }
  const output = values['output-policy-file'] ?? 'output.json';
  if (output === '-') {
    io.stdout(text);
    io.stderr(`${policy.hash}  -\n`);
    return 0;
  }
  await writeFile(output, bytes);
  const written = await readFile(output);
  if (sha256Hex(written) !== policy.hash) {
    throw new VeracruzError(Code.Internal, `${output}: the file on disk differs from the policy generated (hash mismatch)`);
  }
  await parsePolicy(written);
  io.stdout(`${policy.hash}  ${output}\n`);
  return 0;
}

async function explain(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { at: { type: 'string' }, 'expiring-days': { type: 'string' }, json: { type: 'boolean' }, 'fail-on': { type: 'string' } },
  });
  const severities = ['high', 'medium', 'low', 'info'];
  const failOn = values['fail-on'];
  if (failOn !== undefined && !severities.includes(failOn)) throw new UsageError(`--fail-on: expected one of ${severities.join(', ')}`);
  if (positionals.length !== 1) throw new UsageError('explain takes exactly one policy file');
  const file = positionals[0]!;
  const at = values.at === undefined ? new Date() : new Date(values.at);
  if (Number.isNaN(at.getTime())) throw new UsageError(`--at ${JSON.stringify(values.at)}: not a date`);
  const days = values['expiring-days'] === undefined ? 30 : Number(values['expiring-days']);
  if (!Number.isInteger(days) || days < 0) throw new UsageError('--expiring-days: expected a non-negative integer');
  const bytes = await readInput(file, 'explain');
  const policy = await parsePolicy(new Uint8Array(bytes), { at, checkValidity: false, requireProgramHashes: false });
  const explanation = explainPolicy(policy, { at, expiringWithinDays: days });
  if (values.json) {
    io.stdout(`${JSON.stringify(explanation, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`);
  } else {
    io.stdout(renderExplanation(explanation, { color: io.isTTY && process.env['NO_COLOR'] === undefined, source: file }));
  }
  if (failOn === undefined) return 0;
  const threshold = severities.indexOf(failOn);
  // A distinct status, so scripts can tell "risky" from "broken".
  return explanation.risks.some((risk) => severities.indexOf(risk.severity) <= threshold) ? 3 : 0;
}

async function identity(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: { 'out-dir': { type: 'string' }, days: { type: 'string' }, force: { type: 'boolean' } },
  });
  if (positionals.length !== 1) throw new UsageError('identity takes exactly one NAME');
  const name = positionals[0]!;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) {
    throw new UsageError(`identity NAME ${JSON.stringify(name)}: use letters, digits, '.', '_' and '-' (it names the files)`);
  }
  const days = values.days === undefined ? 365 : Number(values.days);
  if (!Number.isInteger(days) || days < 1) throw new UsageError('--days: expected a positive integer');
  const directory = values['out-dir'] ?? '.';
  await mkdir(directory, { recursive: true });
  const notBefore = new Date(Date.now() - 60_000);
  const created = await createIdentity(name, { notBefore, notAfter: new Date(notBefore.getTime() + days * 86_400_000) });
  const certificateFile = join(directory, `${name}.pem`);
  const keyFile = join(directory, `${name}.key.pem`);
  const flag = values.force ? 'w' : 'wx';
  try {
    await writeFile(keyFile, created.privateKeyPem, { mode: 0o600, flag });
    await chmod(keyFile, 0o600);
    await writeFile(certificateFile, created.certificatePem, { flag });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') {
      throw new VeracruzError(Code.AlreadyExists, `${(error as NodeJS.ErrnoException).path ?? name}: exists already (use --force to replace it)`);
    }
    throw error;
  }
  io.stdout(`certificate ${certificateFile}\nprivate key ${keyFile} (mode 0600; keep it secret)\n`);
  return 0;
}

/** Runs vc-pgen with `argv` (without node and script); returns the exit status. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    if (argv.includes('--help')) {
      io.stdout(`${USAGE}\n`);
      return 0;
    }
    const [command, ...rest] = argv;
    if (command === 'explain') return await explain(rest, io);
    if (command === 'identity') return await identity(rest, io);
    if (command === 'generate') return await generate(rest, io);
    if (argv.length === 0) throw new UsageError('nothing to do');
    return await generate(argv, io);
  } catch (error) {
    if (error instanceof UsageError || (error instanceof Error && (error as NodeJS.ErrnoException).code?.startsWith('ERR_PARSE_ARGS'))) {
      io.stderr(`vc-pgen: ${error.message}\nRun "vc-pgen --help" for usage.\n`);
      return 2;
    }
    const failure = VeracruzError.from(error);
    io.stderr(`vc-pgen: ${failure.message}\n`);
    return 1;
  }
}
