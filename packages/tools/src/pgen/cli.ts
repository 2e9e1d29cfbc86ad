/**
 * vc-pgen's command line: `vc-pgen [generate] FLAGS` writes a policy (Veracruz's flags),
 * `vc-pgen explain POLICY` summarises one for a party about to agree to it, `vc-pgen identity
 * NAME` creates a principal's key and certificate, `vc-pgen header POLICY` writes a policy's facts
 * as a C header for a device. File and console I/O live here; the rules live in generate.ts,
 * explain-analysis.ts, explain-render.ts and header.ts.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { CIPHERSUITES, UsageError, createIdentity, failedCommand, formatOptions, parsePolicy, helpOrVersion, type OptionHelp } from '@veracruz-ts/policy';
import packageJson from '../../package.json' with { type: 'json' };
import { explainPolicy } from './explain-analysis.ts';
import { renderExplanation, renderExplanationJson } from './explain-render.ts';
import {
  DEFAULT_AWAIT_DEADLINE_MS,
  DEFAULT_CIPHERSUITE,
  DEFAULT_MAX_MEMORY_MIB,
  buildPolicy,
  generationWarnings,
  parseAwaitFlag,
  parseDataflowFlag,
  parseIsolateFlag,
  parseRenamablePaths,
  withLeadingSlash,
  type AwaitInput,
  type DataflowInput,
  type HashedFile,
  type NativeModuleInput,
  type PeerIsolateFlag,
  type PeerIsolateInput,
} from './generate.ts';
import { DEFAULT_FACTS_NAME, policyFactsHeader } from './header.ts';
import { stringifySorted } from './json.ts';
import { writeFileAtomically } from '@veracruz-ts/policy/node';

/** Where the CLI writes; replaceable for tests. */
export interface CliIO {
  stdout: (text: string) => void;
  stderr: (text: string) => void;
  /** Whether stdout is a terminal (colours in `explain`). */
  isTTY: boolean;
}

const GENERATE_OPTIONS: readonly OptionHelp[] = [
  { names: ['-c', '--certificate'], value: 'FILE', help: "a principal's certificate (PEM); repeat, one per principal: ids follow the order", default: 'required, at least one' },
  {
    names: ['-p', '--capability'], value: 'CAPS',
    help: "'path:rights,...' with rights r, w, x combinations, a number or right names: one per certificate, then one per program, then one per pipeline, in that order",
    default: 'required, one per certificate, program and pipeline',
  },
  {
    names: ['-w', '--program-binary'], value: '[PATH=]FILE',
    help: "a program (repeat, or a comma list); its SHA-256 goes to file_hashes. Without PATH=, the path as given with a leading '/', as in Veracruz: '-w build/sum.wasm' is /build/sum.wasm",
    default: 'no programs',
  },
  { names: ['--pipeline'], value: 'SCRIPT', help: 'a pipeline script (repeat; named "0", "1", ... by position)', default: 'no pipelines' },
  {
    names: ['-s', '--veracruz-server-ip'], value: 'HOST:PORT',
    help: "veracruz_server_url: where vc-server listens and clients connect (Veracruz's examples use 127.0.0.1:3011); must differ from -t",
    default: 'required',
  },
  {
    names: ['-t', '--proxy-attestation-server-ip'], value: 'HOST:PORT',
    help: 'proxy_attestation_server_url: the proxy attestation service (PAS); vc-pas serve listens on 127.0.0.1:3010 unless told otherwise',
    default: 'required',
  },
  { names: ['--proxy-attestation-server-cert'], value: 'FILE', help: "the PAS CA certificate (PEM; vc-pas init writes it as ca.pem): the parties' trust anchor", default: 'required' },
  {
    names: ['-b', '--css-file'], value: 'FILE',
    help: 'the linux runtime bundle (build/runtime/veracruz-runtime.mjs): its SHA-256 is runtime_manager_hash_linux',
    default: 'linux isolates not trusted. At least one of -b, -l, --sevsnp-hash, --tdx-hash is required',
  },
  { names: ['-l', '--pcr-file'], value: 'FILE', help: "a Nitro enclave's PCR0 (hex): its first 64 digits are runtime_manager_hash_nitro", default: 'Nitro not trusted' },
  { names: ['--sevsnp-hash'], value: 'HEX', help: 'runtime_manager_hash_sevsnp: the SHA-384 launch measurement (96 hex digits; 64, its first half, as older policies give it)', default: 'SEV-SNP not trusted' },
  { names: ['--tdx-hash'], value: 'HEX', help: 'runtime_manager_hash_tdx (64 hex digits; left out of the policy when not given)', default: 'TDX not trusted' },
  {
    names: ['-x', '--certificate-expiry'], value: 'DATE',
    help: "enclave_cert_expiry, written in UTC: the latest time the isolate's certificate may be valid until. vc-server asks the PAS to cap the certificate there and cannot start an isolate after it. RFC 2822 or ISO 8601; a date in the past is warned about",
    default: 'required',
  },
  { names: ['-d', '--enclave-debug-mode'], help: "debug: true (the runtime may print diagnostics to the host's stderr)", default: 'false' },
  { names: ['-e', '--execution-strategy'], value: 'Interpretation|JIT', help: 'kept for Veracruz compatibility: both mean the same engine here', default: 'JIT' },
  { names: ['-n', '--enable-clock'], help: 'enable_clock: true (programs may read clocks)', default: 'false' },
  {
    names: ['-m', '--max-memory-mib'], value: 'N',
    help: "the isolate's whole memory budget, and each program's default memory cap (at most 4096)",
    default: String(DEFAULT_MAX_MEMORY_MIB),
  },
  {
    names: ['-h', '--hashes'], value: '[PATH=]FILE',
    help: "fix a data file's content (repeat, or a comma list); without PATH=, the path as given with a leading '/'. (-h is --hashes, as in Veracruz's vc-pgen; help is --help)",
    default: 'no other hashes',
  },
  { names: ['--native-module-name'], value: 'NAME', help: 'a native module (repeat; the next two flags are repeated in parallel, empty allowed)', default: 'none' },
  { names: ['--native-module-special-file'], value: 'PATH', help: 'its special file: alone, a Static module; with an entry point, Dynamic', default: 'none' },
  { names: ['--native-module-entry-point'], value: 'PATH', help: 'its entry point: alone, a Provisioned module', default: 'none' },
  { names: ['--program-limits'], value: 'PATH:timeout_ms=N,fuel=N,max_memory_mib=N', help: "one program's limits (any subset)", default: 'the policy-wide limits' },
  {
    names: ['--limits'], value: 'timeout_ms=N,fuel=N,max_memory_mib=N',
    help: "policy-wide default limits (any subset)",
    default: 'memory max_memory_mib (at most 4096 MiB), timeout 60000 ms, unlimited fuel',
  },
  {
    names: ['--stream'], value: 'PATH[,deadline_ms=N][,max_buffered_bytes=N][,on_writer_disconnect=abort|close|wait]',
    help: 'declare a file a stream (repeat): writers append to it while programs read it, and a read past its end waits for more. It ends when every identity that can write it has closed it, or deadline_ms after it opens; more than max_buffered_bytes unread by a running program hold further appends; on_writer_disconnect says what a writer leaving without closing does',
    default: 'no streams; per stream: no deadline, max_buffered_bytes 8388608, on_writer_disconnect abort',
  },
  {
    names: ['--ciphersuite'], value: 'NAME',
    help: `${Object.keys(CIPHERSUITES).join(', ')}; a TLS 1.2 name Veracruz accepted is written with a warning (the TLS 1.3 suite with the same cipher is used)`,
    default: DEFAULT_CIPHERSUITE,
  },
  {
    names: ['--isolate'], value: 'HASH[,pas=FILE][,linux=HEX][,sevsnp=HEX][,tdx=HEX][,nitro=HEX]',
    help: "another isolate as a principal, named by its identity hash (repeat), given after every -c and before every -w and --pipeline. Its ids follow the certificates', and so do its -p values: all certificates' first, then all isolates', then programs', then pipelines'. pas=: the PAS CA certificate that certifies it; linux= etc.: the runtime hashes it may carry",
    default: "no isolate principals; per isolate: this policy's PAS CA and runtime hashes",
  },
  {
    names: ['--dataflow'], value: 'FILE=HOST:PORT:PATH@HASH[,pas=FILE][,linux=HEX]...',
    help: "after every successful program run, write FILE (if it exists) whole to PATH on the isolate at HOST:PORT, whose full policy hash is HASH (repeat). The receiver's policy must give this policy's identity hash the write right on PATH. Settings as for --isolate",
    default: "no dataflow; per receiver: this policy's PAS CA and runtime hashes",
  },
  {
    names: ['--await'], value: 'PROGRAM=FILE[,FILE...][,deadline_ms=N]',
    help: 'a request to run PROGRAM (a -w path) waits until every FILE exists, and fails after deadline_ms naming the files still missing (repeat, one per program)',
    default: `runs start at once; per program: deadline_ms ${DEFAULT_AWAIT_DEADLINE_MS}`,
  },
  { names: ['-o', '--output-policy-file'], value: 'FILE', help: "where to write the policy; '-' writes it to stdout", default: 'output.json' },
];

const EXPLAIN_OPTIONS: readonly OptionHelp[] = [
  { names: ['--at'], value: 'ISO-DATE', help: 'judge certificates and enclave_cert_expiry at this time', default: 'now' },
  { names: ['--expiring-days'], value: 'N', help: 'flag a certificate or enclave_cert_expiry this close to its end', default: '30' },
  { names: ['--json'], help: 'print the analysis as JSON, for tools', default: 'text' },
  { names: ['--fail-on'], value: 'high|medium|low|info', help: 'exit 3 when a risk of this severity or worse is found', default: 'exit 0 whatever the risks' },
];

const IDENTITY_OPTIONS: readonly OptionHelp[] = [
  { names: ['--out-dir'], value: 'DIR', help: 'where to write NAME.pem and NAME.key.pem', default: 'the current directory' },
  { names: ['--days'], value: 'N', help: 'how long the certificate is valid', default: '365' },
  { names: ['--force'], help: 'replace existing files', default: 'refuse to replace them' },
];

const HEADER_OPTIONS: readonly OptionHelp[] = [
  {
    names: ['--identity'], value: 'N',
    help: "the device's identity: the id of a certificate identity of the policy; its id and certificate go into the header, so the device can check it was given that identity's certificate",
    default: 'none (identity_id -1)',
  },
  { names: ['--name'], value: 'NAME', help: 'the C name of the facts constant; the header\'s other symbols and include guard derive from it', default: DEFAULT_FACTS_NAME },
  { names: ['-o', '--output'], value: 'FILE', help: "where to write the header (replaced whole or not at all); '-' writes it to stdout", default: 'stdout' },
];

const COMMON_OPTIONS: readonly OptionHelp[] = [
  { names: ['-V', '--version'], help: 'print the version and exit' },
  { names: ['--help'], help: 'this text (-h is --hashes, as in Veracruz\'s vc-pgen)' },
];

/** vc-pgen's `--help` text: every option of every command, with its default. */
export const USAGE = `Usage:
  vc-pgen [generate] -c CERT -p CAPS [-c CERT -p CAPS ...] [-w [PATH=]FILE -p CAPS ...]
          -s HOST:PORT -t HOST:PORT --proxy-attestation-server-cert FILE -x DATE
          (-b FILE | -l FILE | --sevsnp-hash HEX | --tdx-hash HEX) [options]
  vc-pgen explain POLICY.json [--at ISO-DATE] [--expiring-days N] [--json] [--fail-on SEVERITY]
  vc-pgen identity NAME [--out-dir DIR] [--days N] [--force]
  vc-pgen header POLICY.json [--identity N] [--name NAME] [-o FILE]

generate writes a policy with Veracruz's vc-pgen flags, re-parsed before it is written, and prints
"<policy sha256>  <file>". explain prints what a party should read before agreeing to a policy.
identity writes a test identity: a P-256 key (NAME.key.pem, mode 0600) and a self-signed
certificate (NAME.pem). header writes what a device's embedded client checks, taken from a
policy, as a C header (vc_client.h's vc_policy_facts): the policy hash, the PAS CA, the runtime
hashes, the server's address, the ciphersuite's wolfSSL name and the device's certificate.

Networks of isolates: a receiver names a sender (--isolate) by the sender's identity hash, the
SHA-256 of the sender's policy with each --dataflow HASH replaced by as many zeros; a sender names
its receiver (--dataflow) by the receiver's policy hash. So: generate each sender with
--dataflow ...@<64 zeros>, which prints its identity hash; then the receiver, naming the senders;
then the senders again, with the receiver's policy hash (their identity hash stays the same).
With --dataflow, generate also prints "vc-pgen: identity hash HEX" on stderr. vc-fleet does all this.

Generate options:
${formatOptions(GENERATE_OPTIONS)}

Explain options:
${formatOptions(EXPLAIN_OPTIONS)}

Identity options:
${formatOptions(IDENTITY_OPTIONS)}

Header options:
${formatOptions(HEADER_OPTIONS)}

${formatOptions(COMMON_OPTIONS)}

Exit status: 0 success; 1 invalid input (the message names the flag and value); 2 a usage error;
3 (explain --fail-on) a risk at or above that severity was found.`;

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

/**
 * -p values are taken in the order certificates', isolates', programs', pipelines', whatever the
 * order of the flags. Veracruz lets certificates and programs interleave; an --isolate among them
 * would silently take another principal's capability, so it must sit between the two groups.
 */
function checkIsolateOrder(options: readonly string[]): void {
  const firstIsolate = options.indexOf('isolate');
  if (firstIsolate < 0) return;
  const lastIsolate = options.lastIndexOf('isolate');
  const certificateAfter = options.slice(firstIsolate).includes('certificate');
  const programBefore = options.slice(0, lastIsolate).some((name) => name === 'program-binary' || name === 'pipeline');
  if (certificateAfter || programBefore) {
    throw new UsageError(
      'give every --isolate after every --certificate and before every --program-binary and --pipeline: -p values are taken in that order (certificates\', isolates\', programs\', pipelines\')',
    );
  }
}

/** A peer from --isolate or --dataflow, its `pas=` file read. */
async function readPeer(peer: PeerIsolateFlag, source: string): Promise<PeerIsolateInput> {
  const proxyServiceCertPem = peer.pasFile === undefined ? undefined : (await readInput(peer.pasFile, `${source}: pas`)).toString('utf8');
  return {
    policyHash: peer.policyHash,
    source,
    ...(proxyServiceCertPem === undefined ? {} : { proxyServiceCertPem }),
    ...(peer.runtimeHashes === undefined ? {} : { runtimeHashes: peer.runtimeHashes }),
  };
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

/** `--sevsnp-hash`: SEV-SNP's launch measurement is SHA-384, as Veracruz's build prints it (96 hex digits). */
function sevSnpHash(value: string): string {
  const hex = value.trim().toLowerCase();
  if (!/^([0-9a-f]{64}|[0-9a-f]{96})$/.test(hex)) {
    throw new VeracruzError(Code.InvalidPolicy, `--sevsnp-hash: expected 96 hex digits (the SHA-384 launch measurement; 64, its first half, from older policies), got ${JSON.stringify(value)}`);
  }
  return hex;
}

async function generate(args: string[], io: CliIO): Promise<number> {
  const { values, tokens } = parseArgs({
    args,
    strict: true,
    allowPositionals: false,
    tokens: true,
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
      stream: { type: 'string', multiple: true },
      isolate: { type: 'string', multiple: true },
      dataflow: { type: 'string', multiple: true },
      await: { type: 'string', multiple: true },
      ciphersuite: { type: 'string' },
      'output-policy-file': { type: 'string', short: 'o' },
    },
  });
  checkIsolateOrder(tokens.flatMap((token) => (token.kind === 'option' ? [token.name] : [])));
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
  const maxMemoryText = values['max-memory-mib'] ?? String(DEFAULT_MAX_MEMORY_MIB);
  if (!/^[0-9]+$/.test(maxMemoryText)) throw new VeracruzError(Code.InvalidPolicy, `--max-memory-mib: expected a positive integer, got ${JSON.stringify(maxMemoryText)}`);

  const certificates = [];
  for (const file of certificateFiles) certificates.push({ source: file, pem: (await readInput(file, '--certificate')).toString('utf8') });
  // Veracruz's vc-pgen: the path as given, with a leading '/' ('-w build/sum.wasm' is /build/sum.wasm).
  const programs = await hashFiles(values['program-binary'], '--program-binary', (file) => withLeadingSlash(file));
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

  const isolates: PeerIsolateInput[] = [];
  for (const [index, text] of (values.isolate ?? []).entries()) {
    isolates.push(await readPeer(parseIsolateFlag(text), `--isolate ${index + 1} (${JSON.stringify(text)})`));
  }
  const dataflow: DataflowInput[] = [];
  for (const [index, text] of (values.dataflow ?? []).entries()) {
    const flow = parseDataflowFlag(text);
    const source = `--dataflow ${index + 1} (${JSON.stringify(text)})`;
    dataflow.push({ file: flow.file, path: flow.path, address: flow.address, receiver: await readPeer(flow.receiver, source), source });
  }
  const awaitInputs = (values.await ?? []).map((text, index): AwaitInput => ({ ...parseAwaitFlag(text), source: `--await ${index + 1} (${JSON.stringify(text)})` }));

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
      ...(values['sevsnp-hash'] === undefined ? {} : { sevsnp: sevSnpHash(values['sevsnp-hash']) }),
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
    ...(values.stream === undefined ? {} : { streams: values.stream }),
    isolates,
    dataflow,
    awaitInputs,
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
  if (dataflow.length > 0) io.stderr(`vc-pgen: identity hash ${policy.identityHash} (what a receiver's --isolate names this isolate by)\n`);
  const warned = { certificateExpiry, ...(values.ciphersuite === undefined ? {} : { ciphersuite: values.ciphersuite }) };
  for (const warning of generationWarnings(warned, new Date())) io.stderr(`vc-pgen: warning: ${warning}\n`);
  const output = values['output-policy-file'] ?? 'output.json';
  if (output === '-') {
    io.stdout(text);
    io.stderr(`${policy.hash}  -\n`);
    return 0;
  }
  // Replaced whole or not at all, and only by a file that reads back as the policy generated. A
  // policy is public: a new file gets the usual mode (the umask decides), an existing one keeps its own.
  await writeFileAtomically(output, bytes, {
    mode: 0o666,
    verify: async (temporary) => {
      const written = await readFile(temporary);
      if (sha256Hex(written) !== policy.hash) {
        throw new VeracruzError(Code.Internal, `${output}: the file written differs from the policy generated (hash mismatch); ${output} was left as it is`);
      }
      await parsePolicy(written);
    },
  });
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
    io.stdout(renderExplanationJson(explanation));
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
  // Each file appears whole or not at all; without --force neither replaces an existing one.
  for (const file of values.force ? [] : [keyFile, certificateFile]) {
    if (existsSync(file)) throw new VeracruzError(Code.AlreadyExists, `${file}: exists already (use --force to replace it)`);
  }
  await writeFileAtomically(keyFile, created.privateKeyPem, { mode: 0o600, exclusive: values.force !== true });
  await chmod(keyFile, 0o600);
  await writeFileAtomically(certificateFile, created.certificatePem, { mode: 0o644, exclusive: values.force !== true });
  io.stdout(`certificate ${certificateFile}\nprivate key ${keyFile} (mode 0600; keep it secret)\n`);
  return 0;
}

async function header(args: string[], io: CliIO): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    strict: true,
    allowPositionals: true,
    options: {
      identity: { type: 'string' },
      name: { type: 'string' },
      output: { type: 'string', short: 'o' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('header takes exactly one policy file');
  const file = positionals[0]!;
  let identity: number | undefined;
  if (values.identity !== undefined) {
    if (!/^(0|[1-9][0-9]{0,9})$/.test(values.identity)) throw new UsageError(`--identity ${JSON.stringify(values.identity)}: expected an identity id (a non-negative integer)`);
    identity = Number(values.identity);
  }
  const policy = await parsePolicy(new Uint8Array(await readInput(file, 'header')));
  const text = policyFactsHeader(policy, {
    ...(identity === undefined ? {} : { identity }),
    ...(values.name === undefined ? {} : { name: values.name }),
  });
  const output = values.output ?? '-';
  if (output === '-') {
    io.stdout(text);
    return 0;
  }
  // As for a policy: the header is replaced whole, and only by a file that reads back as generated.
  await writeFileAtomically(output, text, {
    mode: 0o666,
    verify: async (temporary) => {
      if ((await readFile(temporary, 'utf8')) !== text) {
        throw new VeracruzError(Code.Internal, `${output}: the file written differs from the header generated; ${output} was left as it is`);
      }
    },
  });
  io.stdout(`${output}: the facts of policy ${policy.hash}${identity === undefined ? '' : ` for identity ${identity}`}\n`);
  return 0;
}

/** Runs vc-pgen with `argv` (without node and script); returns the exit status. */
export async function main(argv: string[], io: CliIO): Promise<number> {
  try {
    const answer = helpOrVersion(argv, 'vc-pgen', USAGE, packageJson.version);
    if (answer !== undefined) {
      io.stdout(answer);
      return 0;
    }
    const [command, ...rest] = argv;
    if (command === 'explain') return await explain(rest, io);
    if (command === 'identity') return await identity(rest, io);
    if (command === 'header') return await header(rest, io);
    if (command === 'generate') return await generate(rest, io);
    if (argv.length === 0) throw new UsageError('nothing to do');
    return await generate(argv, io);
  } catch (error) {
    return failedCommand('vc-pgen', error, io.stderr);
  }
}
