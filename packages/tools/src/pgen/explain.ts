/**
 * `vc-pgen explain`: what a party should understand before agreeing to a policy. The analysis
 * ({@link explainPolicy}) is pure and returns a structured summary; {@link renderExplanation}
 * lays it out as plain text.
 *
 * Data-flow analysis: every file-rights prefix of every principal (identities, programs,
 * pipelines) splits the file tree into regions in which each principal's rights are constant
 * (a region is a prefix minus the deeper prefixes under it). Within that model: an identity that
 * can write a region feeds the programs that can read it; a program that can write a region feeds
 * the identities that can read it, and other programs. Every path from one party's writable
 * region to a different party's readable region is reported.
 *
 * Every string taken from the policy (or from a certificate it holds) reaches the reader through
 * {@link displaySafe}: a policy is written by someone the reader may not trust, and a path that a
 * terminal draws as something else would make the summary lie.
 */
import {
  Right,
  STD_STREAMS,
  WASM32_MAX_MEMORY_MIB,
  formatPipeline,
  formatRights,
  isStdStream,
  nativeModuleSpecialFile,
  normalizePath,
  opensslCiphersuite,
  tls13Ciphersuite,
  pipelineConditions,
  pipelinePrograms,
  programLimits,
  resolveRights,
  validityProblem,
  expectedFileHash,
  type FileRights,
  type Policy,
  type PolicyLimits,
  type ProgramLimits,
  unknownTopLevelKeys,
  wrapWords,
} from '@veracruz-ts/policy';
import { NODE_BYTES, servingReserve } from '@veracruz-ts/runtime';

/** How much a finding matters to a party deciding whether to agree. */
export type Severity = 'high' | 'medium' | 'low' | 'info';

/** One finding of the analysis. */
export interface Risk {
  severity: Severity;
  message: string;
}

/** One file-rights entry, explained. */
export interface RightsLine {
  /** Normalized path or stream name. */
  path: string;
  rights: number;
  /** `read, write`, `execute`, `no access`, ... */
  verbs: string;
  /** Short form: `rw`, `x`, `r+FD_TELL`, ... */
  short: string;
}

/** An identity (party), explained. */
export interface PrincipalSummary {
  id: number;
  commonName: string;
  subject: string;
  notBefore: Date;
  notAfter: Date;
  /** `valid`, `expired`, `not yet valid`, or `expires in N days`. */
  validity: string;
  rights: RightsLine[];
}

/** A program entry, explained. */
export interface ProgramSummary {
  path: string;
  id: number;
  /** The SHA-256 its binary must have, or undefined when any content is accepted. */
  hash: string | undefined;
  rights: RightsLine[];
  limits: ProgramLimits;
  /** Identities that can upload (write) the binary. */
  writableBy: number[];
  /** Identities that can run it (FD_EXECUTE and FD_SEEK on its path). */
  runnableBy: number[];
}

/** A pipeline, explained. */
export interface PipelineSummary {
  index: number;
  name: string;
  id: number;
  script: string;
  programs: string[];
  conditions: string[];
  rights: RightsLine[];
  /** Identities that can run every program of the script. */
  runnableBy: number[];
}

/** A route by which one party's data can reach another party. */
export interface DataFlow {
  /** The identity whose data it is. */
  from: number;
  /** Alternating regions and programs: [region written by `from`, program, region, program, ..., region read by `to`]. */
  route: string[];
  /** The identity that can read the result. */
  to: number;
}

/** The isolate's one memory budget, as a party should understand it before agreeing. */
export interface MemoryBudgetSummary {
  /** The policy's `max_memory_mib`: all the memory the isolate may hold for principals, in MiB. */
  mib: number;
  /** What counts against it, one phrase each. */
  holds: string[];
  /** MiB of it that data (files, streams, programs' memory) may not use: kept for serving principals. */
  servingReserveMib: number;
  /** Each program's own memory cap (`programLimits(policy, path).maxMemoryMib`), drawn from the same budget. */
  programs: { path: string; maxMemoryMib: number }[];
}

/** Everything `vc-pgen explain` reports. */
export interface Explanation {
  hash: string;
  at: Date;
  principals: PrincipalSummary[];
  programs: ProgramSummary[];
  pipelines: PipelineSummary[];
  nativeModules: { name: string; kind: string; specialFile?: string; entryPoint?: string }[];
  runtimes: { platform: string; hash: string }[];
  pas: { url: string; subject: string; commonName: string; notBefore: Date; notAfter: Date; validity: string };
  server: string;
  /**
   * The policy's ciphersuite as written, and the TLS 1.3 suite in use (Veracruz and OpenSSL names):
   * the same suite, unless the policy names a TLS 1.2 suite (the isolate speaks TLS 1.3 only).
   */
  ciphersuite: { veracruz: string; inUse: string; openssl: string; tls12: boolean };
  settings: { debug: boolean; enableClock: boolean; executionStrategy: string; maxMemoryMib: number; limits: PolicyLimits | undefined; defaultLimits: ProgramLimits };
  /** `enclave_cert_expiry` as `YYYY-MM-DD HH:MM` (UTC). */
  enclaveCertExpiry: string;
  /** `valid`, `expired` or `expires in N days`, at {@link Explanation.at}. */
  enclaveCertExpiryValidity: string;
  flows: DataFlow[];
  /** Every field this version ignores, by JSON path. */
  unknownFields: string[];
  /** The top-level keys among them, as written. */
  ignoredTopLevelKeys: string[];
  memoryBudget: MemoryBudgetSummary;
  /** Most severe first. Messages are display-safe: policy text in them is already escaped. */
  risks: Risk[];
}

/** Options of {@link explainPolicy}. */
export interface ExplainOptions {
  /** The time validity is judged at. */
  at: Date;
  /** A certificate expiring within this many days is flagged. @default 30 */
  expiringWithinDays?: number;
}

const DAY_MS = 86_400_000;
const EXECUTE_NEEDS = Right.FD_EXECUTE | Right.FD_SEEK;

/**
 * Characters a reader cannot see for what they are: C0/C1 controls and DEL (Cc), bidirectional
 * controls and other format characters such as zero-width spaces (Cf), lone surrogates (Cs),
 * private-use and unassigned code points (Co, Cn: no standard glyph), line and paragraph separators,
 * and whatever else Unicode says to draw as nothing (variation selectors, Hangul fillers).
 */
const HIDDEN = /[\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/u;
/** {@link HIDDEN} and the backslash, which must be escaped for the escapes to be unambiguous. */
const ESCAPED = /[\\\p{Cc}\p{Cf}\p{Cs}\p{Co}\p{Cn}\p{Zl}\p{Zp}\p{Default_Ignorable_Code_Point}]/gu;
const SHORT_ESCAPES: Readonly<Record<string, string>> = { '\\': '\\\\', '\n': '\\n', '\r': '\\r', '\t': '\\t' };

/**
 * Text from a policy, made safe to print: every character a terminal would hide, reorder the line
 * around, or draw as something else is shown as an escape (`\u{202E}`; `\n`, `\r`, `\t`), and a
 * backslash as `\\`, so every backslash in the result starts an escape. With `quote`, that quote
 * character is escaped too (`\"`), for text shown between quotes.
 */
export function displaySafe(text: string, quote?: '"' | "'"): string {
  const escaped = text.replace(ESCAPED, (char) => SHORT_ESCAPES[char] ?? `\\u{${char.codePointAt(0)!.toString(16).toUpperCase()}}`);
  return quote === undefined ? escaped : escaped.replaceAll(quote, `\\${quote}`);
}

/** Whether {@link displaySafe} would have to escape more than backslashes. */
function hasHiddenCharacters(text: string): boolean {
  return HIDDEN.test(text);
}

function verbs(bits: number): string {
  const parts: string[] = [];
  if (bits & Right.FD_READ) parts.push('read');
  if (bits & Right.FD_WRITE) parts.push('write');
  if (bits & Right.FD_EXECUTE) parts.push((bits & Right.FD_SEEK) === 0 ? 'execute (ineffective: lacks FD_SEEK)' : 'execute');
  if (parts.length === 0) return bits === 0 ? 'no access' : 'metadata only';
  return parts.join(', ');
}

function rightsLines(entries: readonly FileRights[]): RightsLine[] {
  return entries.map((entry) => ({
    path: normalizePath(entry.file_name),
    rights: entry.rights,
    verbs: verbs(entry.rights),
    short: formatRights(entry.rights),
  }));
}

function validityText(notBefore: Date, notAfter: Date, at: Date, soonDays: number): string {
  const problem = validityProblem({ notBefore, notAfter }, at);
  if (problem !== undefined) return problem.startsWith('expired') ? 'expired' : 'not yet valid';
  const days = Math.floor((notAfter.getTime() - at.getTime()) / DAY_MS);
  return days < soonDays ? `expires in ${days} day${days === 1 ? '' : 's'}` : 'valid';
}

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
}

/** A principal of the data-flow model. */
interface Actor {
  kind: 'identity' | 'program' | 'pipeline';
  key: number | string;
  /** Identities: display text (`#0 (alice)`). Programs: the path as data, escaped where shown. */
  label: string;
  entries: readonly FileRights[];
}

/** Analyses a parsed policy (parse it with `checkValidity: false, requireProgramHashes: false` to report those as risks). */
export function explainPolicy(policy: Policy, options: ExplainOptions): Explanation {
  const { at } = options;
  const soonDays = options.expiringWithinDays ?? 30;
  const risks: Risk[] = [];
  const risk = (severity: Severity, message: string) => risks.push({ severity, message });
  const who = (id: number) => {
    const identity = policy.identities.find((candidate) => candidate.id === id);
    const name = identity?.certificateInfo.commonName;
    return name ? `#${id} (${displaySafe(name)})` : `#${id}`;
  };
  const whoList = (ids: number[]) => (ids.length === 0 ? 'nobody' : ids.map(who).join(', '));

  const principals = policy.identities.map((identity): PrincipalSummary => {
    const info = identity.certificateInfo;
    return {
      id: identity.id,
      commonName: info.commonName,
      subject: info.subject,
      notBefore: info.notBefore,
      notAfter: info.notAfter,
      validity: validityText(info.notBefore, info.notAfter, at, soonDays),
      rights: rightsLines(identity.file_rights),
    };
  });

  const identitiesWith = (path: string, need: number) =>
    policy.identities.filter((identity) => ((resolveRights(identity.file_rights, path)?.rights ?? 0) & need) === need).map((identity) => identity.id);

  const programs = policy.programs.map((program): ProgramSummary => {
    const path = normalizePath(program.program_file_name);
    return {
      path,
      id: program.id,
      hash: expectedFileHash(policy, path),
      rights: rightsLines(program.file_rights),
      limits: programLimits(policy, path),
      writableBy: identitiesWith(path, Right.FD_WRITE),
      runnableBy: identitiesWith(path, EXECUTE_NEEDS),
    };
  });

  const pipelines = policy.pipelines.map((pipeline, index): PipelineSummary => {
    const paths = [...new Set(pipelinePrograms(pipeline.expr).map((step) => normalizePath(step.path)))];
    return {
      index,
      name: pipeline.name,
      id: pipeline.id,
      script: formatPipeline(pipeline.expr),
      programs: paths,
      conditions: pipelineConditions(pipeline.expr).map(normalizePath),
      rights: rightsLines(pipeline.file_rights),
      runnableBy: policy.identities
        .filter((identity) => paths.every((path) => ((resolveRights(identity.file_rights, path)?.rights ?? 0) & EXECUTE_NEEDS) === EXECUTE_NEEDS))
        .map((identity) => identity.id),
    };
  });

  // Identity risks.
  for (const principal of principals) {
    const label = `Identity ${who(principal.id)}`;
    if (principal.validity === 'expired') risk('high', `${label}: certificate expired on ${principal.notAfter.toISOString()}; the isolate will refuse it.`);
    else if (principal.validity === 'not yet valid') risk('medium', `${label}: certificate not valid until ${principal.notBefore.toISOString()}.`);
    else if (principal.validity !== 'valid') risk('low', `${label}: certificate ${principal.validity} (${principal.notAfter.toISOString()}).`);
    if (principal.rights.some((line) => line.path === '/' && line.rights !== 0)) {
      risk('high', `${label} has rights on "/": every file of the computation, including other parties' inputs and the programs.`);
    }
    if (principal.rights.length === 0) risk('info', `${label} has no file rights (it can only connect and request shutdown).`);
  }

  // Program risks.
  for (const program of programs) {
    const label = `Program ${displaySafe(program.path)}`;
    if (program.hash === undefined) {
      risk(
        'high',
        `${label} has no entry in file_hashes: any binary is accepted there, so whoever can write it (${whoList(program.writableBy)}) chooses the code that runs with this program's rights.`,
      );
    }
    if (program.writableBy.length === 0) risk('info', `${label}: no identity can upload it (FD_WRITE on its path).`);
    if (program.runnableBy.length === 0) risk('info', `${label}: no identity can run it (needs FD_EXECUTE and FD_SEEK on its path).`);
    if (program.rights.some((line) => line.path === '/' && line.rights !== 0)) risk('high', `${label} has rights on "/": it can read and write every file.`);
  }
  for (const pipeline of pipelines) {
    for (const path of pipeline.programs) {
      if (expectedFileHash(policy, path) === undefined) {
        risk('high', `Pipeline ${pipeline.index} runs ${displaySafe(path)}, which has no entry in file_hashes: any binary written there runs with the pipeline's rights.`);
      }
    }
    if (pipeline.runnableBy.length === 0) risk('info', `Pipeline ${pipeline.index}: no identity can run all its programs.`);
  }

  // Data flows.
  const actors: Actor[] = [
    ...policy.identities.map((identity): Actor => ({ kind: 'identity', key: identity.id, label: who(identity.id), entries: identity.file_rights })),
    ...policy.programs.map((program): Actor => ({
      kind: 'program',
      key: normalizePath(program.program_file_name),
      label: normalizePath(program.program_file_name),
      entries: program.file_rights,
    })),
    ...policy.pipelines.map((pipeline, index): Actor => ({ kind: 'pipeline', key: index, label: `pipeline ${index}`, entries: pipeline.file_rights })),
  ];
  const regions = [
    ...new Set(actors.flatMap((actor) => actor.entries.filter((entry) => !isStdStream(entry.file_name)).map((entry) => normalizePath(entry.file_name)))),
  ].sort();
  for (const stream of STD_STREAMS) if (actors.some((actor) => actor.entries.some((entry) => entry.file_name === stream))) regions.push(stream);
  const rightsAt = (actor: Actor, region: string) => resolveRights(actor.entries, region)?.rights ?? 0;
  const can = (actor: Actor, region: string, bit: number) => (rightsAt(actor, region) & bit) !== 0;
  const identities = actors.filter((actor) => actor.kind === 'identity');
  const computations = actors.filter((actor) => actor.kind !== 'identity');

  for (const region of regions) {
    const writers = identities.filter((actor) => can(actor, region, Right.FD_WRITE));
    const readers = identities.filter((actor) => can(actor, region, Right.FD_READ));
    for (const writer of writers) {
      for (const reader of readers) {
        if (reader !== writer) {
          risk('medium', `${reader.label} can read ${displaySafe(region)} directly, which ${writer.label} can write: no program stands in between, so whatever ${writer.label} puts there is disclosed as is.`);
        }
      }
    }
    if (writers.length > 1) {
      risk('medium', `${writers.map((actor) => actor.label).join(' and ')} can all write ${displaySafe(region)}: each can overwrite or replace the others' files there.`);
    }
  }

  const flows: DataFlow[] = [];
  for (const source of identities) {
    // Breadth-first over regions reachable through programs; remember the first route found.
    const routes = new Map<string, string[]>();
    const queue: string[] = [];
    for (const region of regions) {
      if (can(source, region, Right.FD_WRITE)) {
        routes.set(region, [region]);
        queue.push(region);
      }
    }
    const reached = new Map<string, string[]>();
    while (queue.length > 0) {
      const region = queue.shift()!;
      const route = routes.get(region)!;
      for (const computation of computations) {
        if (!can(computation, region, Right.FD_READ) || route.includes(computation.label)) continue;
        for (const output of regions) {
          if (!can(computation, output, Right.FD_WRITE)) continue;
          const next = [...route, computation.label, output];
          if (!reached.has(output)) reached.set(output, next);
          if (!routes.has(output)) {
            routes.set(output, next);
            queue.push(output);
          }
        }
      }
    }
    for (const [region, route] of reached) {
      for (const reader of identities) {
        if (reader !== source && can(reader, region, Right.FD_READ)) flows.push({ from: source.key as number, route, to: reader.key as number });
      }
    }
  }

  // file_hashes pin what parties upload; a program that can write a binary's path could swap it afterwards.
  const binaries = [...new Set([...programs.map((program) => program.path), ...pipelines.flatMap((pipeline) => pipeline.programs)])];
  for (const binary of binaries) {
    for (const computation of computations) {
      if (can(computation, binary, Right.FD_WRITE)) {
        const name = computation.kind === 'pipeline' ? `Pipeline ${computation.key}` : `Program ${displaySafe(computation.label)}`;
        risk('high', `${name} can write ${displaySafe(binary)}: file_hashes pin what parties upload, but a running program could replace the binary that later runs.`);
      }
    }
  }

  const flowPairs = new Map<string, DataFlow[]>();
  for (const flow of flows) {
    const key = `${flow.from}>${flow.to}`;
    flowPairs.set(key, [...(flowPairs.get(key) ?? []), flow]);
  }
  for (const pairFlows of flowPairs.values()) {
    const { from, to } = pairFlows[0]!;
    const routes = pairFlows.map((flow) => flow.route.map((step) => displaySafe(step)).join(' -> ')).join('; ');
    risk(
      'medium',
      `Data written by ${who(from)} reaches ${who(to)} through programs (${routes}): ${who(to)} learns whatever those programs write, which may include ${who(from)}'s raw input. Review the programs before agreeing.`,
    );
  }

  // Trust and settings.
  const runtimes: { platform: string; hash: string }[] = [];
  for (const [platform, hash] of [
    ['linux', policy.runtime_manager_hash_linux],
    ['nitro', policy.runtime_manager_hash_nitro],
    ['sev-snp', policy.runtime_manager_hash_sevsnp],
    ['tdx', policy.runtime_manager_hash_tdx],
  ] as const) {
    if (hash !== null) runtimes.push({ platform, hash });
  }
  if (policy.runtime_manager_hash_linux !== null) {
    risk('high', 'The policy trusts the linux software isolate: it has no hardware protection, so whoever controls the host running vc-server can read every input and result. Agree only for development or if you trust that host.');
  }
  const pasInfo = policy.proxyServiceCertInfo;
  const pasValidity = validityText(pasInfo.notBefore, pasInfo.notAfter, at, soonDays);
  if (pasValidity === 'expired') risk('high', `The PAS CA certificate (proxy_service_cert) expired on ${pasInfo.notAfter.toISOString()}: no isolate can be verified.`);
  else if (pasValidity === 'not yet valid') risk('medium', `The PAS CA certificate is not valid until ${pasInfo.notBefore.toISOString()}.`);
  else if (pasValidity !== 'valid') risk('low', `The PAS CA certificate ${pasValidity}.`);
  if (policy.debug) {
    risk('medium', 'debug is true: the runtime may print diagnostics to the untrusted host. Fine for development; refuse it for real data.');
  }
  if (policy.enable_clock) {
    risk('low', 'enable_clock is true: programs can read the time, so results may differ between runs and timing can reveal information about the data.');
  }
  const ignoredTopLevelKeys = unknownTopLevelKeys(policy);
  // A top-level `__proto__` is ignored too, but policy.unknownFields cannot hold it as its own key.
  const unknownFields = [...Object.keys(policy.unknownFields), ...ignoredTopLevelKeys.filter((key) => !Object.hasOwn(policy.unknownFields, key))];
  if (unknownFields.length > 0) {
    risk('low', `Fields this version ignores: ${unknownFields.map((field) => displaySafe(field)).join(', ')}. Make sure every party's tools read the policy the same way.`);
  }
  for (const module of policy.native_modules) {
    if (!('Static' in module.type)) {
      risk('medium', `Native module "${displaySafe(module.name, '"')}" is ${'Dynamic' in module.type ? 'Dynamic' : 'Provisioned'}: it runs native code, outside WebAssembly, which this policy does not pin by hash.`);
    }
  }
  const expiry = policy.enclave_cert_expiry;
  const expiryText = `${expiry.year}-${String(expiry.month).padStart(2, '0')}-${String(expiry.day).padStart(2, '0')} ${String(expiry.hour).padStart(2, '0')}:${String(expiry.minute).padStart(2, '0')}`;
  const expiryAt = new Date(Date.UTC(expiry.year, expiry.month - 1, expiry.day, expiry.hour, expiry.minute));
  // enclave_cert_expiry caps the isolate certificate's notAfter (vc-server passes it to the PAS).
  const expiryDays = Math.floor((expiryAt.getTime() - at.getTime()) / DAY_MS);
  // A year past what Date holds (the policy allows any u32) is NaN here: valid.
  const expiryValidity =
    expiryAt.getTime() <= at.getTime() ? 'expired' : expiryDays < soonDays ? `expires in ${expiryDays} day${expiryDays === 1 ? '' : 's'}` : 'valid';
  if (expiryValidity === 'expired') {
    risk(
      'high',
      `enclave_cert_expiry (${expiryText} UTC) has passed: vc-server cannot start an isolate for this policy, and the certificate of an isolate started before it has expired, so every party refuses that isolate.`,
    );
  } else if (expiryValidity !== 'valid') {
    risk('low', `enclave_cert_expiry (${expiryText} UTC) ${expiryValidity}: after it, parties refuse the isolate's certificate and no isolate can be started for this policy.`);
  }
  const ciphersuiteInUse = tls13Ciphersuite(policy.ciphersuite) ?? policy.ciphersuite;
  const tls12 = ciphersuiteInUse !== policy.ciphersuite;
  if (tls12) {
    risk(
      'low',
      `ciphersuite "${displaySafe(policy.ciphersuite, '"')}" is a TLS 1.2 suite, which Veracruz accepted: the isolate speaks TLS 1.3 only, so ${ciphersuiteInUse} (${opensslCiphersuite(policy.ciphersuite)}, the same AEAD cipher) is used for every connection.`,
    );
  }

  // Text a party reads that could display as something else: one finding per distinct text, naming
  // every place it is written so the party can find it in the file.
  const hidden = new Map<string, string[]>();
  const noteHidden = (text: string, where: string) => {
    if (hasHiddenCharacters(text)) hidden.set(text, [...(hidden.get(text) ?? []), where]);
  };
  const noteRights = (entries: readonly FileRights[], where: string) =>
    entries.forEach((entry, index) => noteHidden(entry.file_name, `${where}.file_rights[${index}].file_name`));
  const noteCertificate = (info: { subject: string; commonName: string }, where: string) => {
    if (hasHiddenCharacters(info.commonName) && !hasHiddenCharacters(info.subject)) noteHidden(info.commonName, `common name in ${where}`);
    else noteHidden(info.subject, `subject of ${where}`);
  };
  policy.identities.forEach((identity, index) => {
    noteCertificate(identity.certificateInfo, `identities[${index}].certificate`);
    noteRights(identity.file_rights, `identities[${index}]`);
  });
  policy.programs.forEach((program, index) => {
    noteHidden(program.program_file_name, `programs[${index}].program_file_name`);
    noteRights(program.file_rights, `programs[${index}]`);
  });
  policy.file_hashes.forEach((entry, index) => noteHidden(entry.file_path, `file_hashes[${index}].file_path`));
  policy.pipelines.forEach((pipeline, index) => {
    noteHidden(pipeline.name, `pipelines[${index}].name`);
    noteHidden(pipeline.pipeline, `pipelines[${index}].pipeline`);
    noteRights(pipeline.file_rights, `pipelines[${index}]`);
  });
  policy.native_modules.forEach((module, index) => {
    noteHidden(module.name, `native_modules[${index}].name`);
    for (const [kind, body] of Object.entries(module.type) as [string, Record<string, string>][]) {
      for (const [field, value] of Object.entries(body)) noteHidden(value, `native_modules[${index}].type.${kind}.${field}`);
    }
  });
  noteHidden(policy.veracruz_server_url, 'veracruz_server_url');
  noteHidden(policy.proxy_attestation_server_url, 'proxy_attestation_server_url');
  noteCertificate(pasInfo, 'proxy_service_cert');
  for (const field of unknownFields) noteHidden(field, 'the name of an ignored field');
  for (const [text, places] of hidden) {
    risk(
      'high',
      `"${displaySafe(text, '"')}" (${places.join(', ')}) contains control or bidirectional characters that can make it display as something else. They are shown escaped here; an editor or another tool may draw them invisibly or reorder the text around them.`,
    );
  }

  // The isolate's one memory budget; every program's own cap draws from it too.
  const budgetPrograms = binaries.map((path) => ({ path, maxMemoryMib: programLimits(policy, path).maxMemoryMib }));
  for (const program of budgetPrograms) {
    if (program.maxMemoryMib > policy.max_memory_mib) {
      risk(
        'info',
        `Program ${displaySafe(program.path)} may grow its memory to ${program.maxMemoryMib} MiB, more than the isolate's whole budget (max_memory_mib ${policy.max_memory_mib} MiB): it will be refused memory once the budget is used up, by it and by everything else the isolate holds.`,
      );
    }
  }

  const order: Record<Severity, number> = { high: 0, medium: 1, low: 2, info: 3 };
  risks.sort((a, b) => order[a.severity] - order[b.severity]);

  return {
    hash: policy.hash,
    at,
    principals,
    programs,
    pipelines,
    nativeModules: policy.native_modules.map((module) => {
      const kind = Object.keys(module.type)[0] ?? '';
      const entryPoint = 'Static' in module.type ? undefined : Object.values(module.type)[0]?.entry_point;
      const specialFile = nativeModuleSpecialFile(module);
      return { name: module.name, kind, ...(specialFile === undefined ? {} : { specialFile }), ...(entryPoint === undefined ? {} : { entryPoint }) };
    }),
    runtimes,
    pas: { url: policy.proxy_attestation_server_url, subject: pasInfo.subject, commonName: pasInfo.commonName, notBefore: pasInfo.notBefore, notAfter: pasInfo.notAfter, validity: pasValidity },
    server: policy.veracruz_server_url,
    ciphersuite: { veracruz: policy.ciphersuite, inUse: ciphersuiteInUse, openssl: opensslCiphersuite(policy.ciphersuite), tls12 },
    settings: {
      debug: policy.debug,
      enableClock: policy.enable_clock,
      executionStrategy: policy.execution_strategy,
      maxMemoryMib: policy.max_memory_mib,
      limits: policy.limits,
      defaultLimits: programLimits({ programs: [], max_memory_mib: policy.max_memory_mib, ...(policy.limits === undefined ? {} : { limits: policy.limits }) }, '/'),
    },
    enclaveCertExpiry: expiryText,
    enclaveCertExpiryValidity: expiryValidity,
    flows,
    unknownFields,
    ignoredTopLevelKeys,
    memoryBudget: {
      mib: policy.max_memory_mib,
      holds: [
        `files: their contents plus ${NODE_BYTES} bytes and the name's length for each file or directory`,
        'input given to programs on stdin',
        'captured stdout and stderr',
        'per-session buffers',
        'requests being received and responses pending',
        "running programs' memory",
      ],
      servingReserveMib: servingReserve(policy.max_memory_mib * 1024 * 1024) / (1024 * 1024),
      programs: budgetPrograms,
    },
    risks,
  };
}

/** The words the summary uses, defined once for a reader who is not a specialist. */
const TERMS: readonly (readonly [string, string])[] = [
  ['principal', 'a party to the computation, known by its certificate (#0, #1, ... below); programs and pipelines are principals too, with rights of their own while they run.'],
  [
    'isolate',
    "where the programs run and the parties' data is decrypted: a confidential VM or enclave whose memory its host cannot read (AMD SEV-SNP, Intel TDX, AWS Nitro), or, on the 'linux' platform, a sandboxed process that its host can read.",
  ],
  [
    'runtime hash',
    "the SHA-256 measurement of the software an isolate runs. Parties connect only to an isolate whose certificate carries a runtime hash this policy lists, so the policy fixes which builds are trusted.",
  ],
  [
    'PAS',
    "the proxy attestation service: it checks an isolate's platform evidence and certifies the isolate's key. Parties trust isolates certified by the PAS CA certificate this policy holds, and nothing else.",
  ],
  ['data flow', "a route by which data one party writes can reach another party, through programs that read it and write results."],
];

/** Options of {@link renderExplanation}. */
export interface RenderOptions {
  /** Use ANSI colour for severities (only for a terminal). @default false */
  color?: boolean;
  /** The file name shown in the title. */
  source?: string;
}

function formatLimits(limits: ProgramLimits): string {
  const memory = `memory ${limits.maxMemoryMib} MiB${limits.maxMemoryMib === WASM32_MAX_MEMORY_MIB ? ' (wasm32 maximum)' : ''}`;
  return `${memory}, timeout ${limits.timeoutMs} ms, fuel ${limits.fuel === undefined ? 'unlimited' : String(limits.fuel)}`;
}

/**
 * Lays out an explanation as plain text, sections in the order a party reads them. Text from the
 * policy is escaped here ({@link displaySafe}); risk messages arrive escaped already.
 */
export function renderExplanation(explanation: Explanation, options: RenderOptions = {}): string {
  const lines: string[] = [];
  // One argument, so that it can be passed to map() without the index becoming a quote.
  const safe = (text: string) => displaySafe(text);
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const heading = (text: string) => {
    lines.push('', paint('1', text), '-'.repeat(text.length));
  };
  const names = new Map(explanation.principals.map((principal) => [principal.id, principal.commonName]));
  const who = (id: number) => (names.get(id) ? `#${id} (${safe(names.get(id)!)})` : `#${id}`);
  const whoList = (ids: number[]) => (ids.length === 0 ? 'nobody' : ids.map(who).join(', '));
  const rightsBlock = (rights: RightsLine[], indent: string) => {
    if (rights.length === 0) lines.push(`${indent}(no file rights)`);
    const paths = rights.map((line) => safe(line.path));
    const width = Math.max(0, ...paths.map((path) => path.length));
    const verbWidth = Math.max(0, ...rights.map((line) => line.verbs.length));
    rights.forEach((line, index) => lines.push(`${indent}${paths[index]!.padEnd(width)}  ${line.verbs.padEnd(verbWidth)}  [${line.short}]`));
  };

  // A file name can hold control characters as well as a policy can.
  const title = `Policy ${safe(options.source ?? '')}`.trim();
  lines.push(paint('1', title), '='.repeat(title.length));
  lines.push(`SHA-256     ${safe(explanation.hash)}`);
  lines.push(`Checked at  ${explanation.at.toISOString()}`);
  const counts = { high: 0, medium: 0, low: 0, info: 0 };
  for (const item of explanation.risks) counts[item.severity]++;
  lines.push(`Findings    ${counts.high} high, ${counts.medium} medium, ${counts.low} low, ${counts.info} info (see Risks)`);

  heading('Terms');
  for (const [term, meaning] of TERMS) {
    const [first, ...rest] = wrapWords(meaning, 84);
    lines.push(`${term.padEnd(14)}${first}`, ...rest.map((line) => `${' '.repeat(14)}${line}`));
  }

  heading(`Principals (${explanation.principals.length})`);
  for (const principal of explanation.principals) {
    lines.push(`${who(principal.id)}  ${safe(principal.subject)}`);
    lines.push(`    certificate ${day(principal.notBefore)} to ${day(principal.notAfter)}: ${principal.validity}`);
    rightsBlock(principal.rights, '    ');
  }

  heading(`Programs (${explanation.programs.length})`);
  if (explanation.programs.length === 0) lines.push('(none)');
  for (const program of explanation.programs) {
    lines.push(`${safe(program.path)}  (program id ${program.id})`);
    lines.push(`    binary SHA-256  ${program.hash === undefined ? 'NOT FIXED: any content is accepted' : safe(program.hash)}`);
    lines.push(`    uploaded by     ${whoList(program.writableBy)}`);
    lines.push(`    run by          ${whoList(program.runnableBy)}`);
    lines.push(`    limits          ${formatLimits(program.limits)}`);
    lines.push('    rights while it runs:');
    rightsBlock(program.rights, '      ');
  }

  heading(`Pipelines (${explanation.pipelines.length})`);
  if (explanation.pipelines.length === 0) lines.push('(none)');
  for (const pipeline of explanation.pipelines) {
    lines.push(`${pipeline.index}: "${displaySafe(pipeline.name, '"')}" (id ${pipeline.id})`);
    lines.push(`    script      ${safe(pipeline.script)}`);
    lines.push(`    programs    ${pipeline.programs.map(safe).join(', ') || '(none)'}`);
    if (pipeline.conditions.length > 0) lines.push(`    tests       ${pipeline.conditions.map(safe).join(', ')} (exists, as seen by the caller)`);
    lines.push(`    run by      ${whoList(pipeline.runnableBy)}`);
    lines.push('    rights of its programs:');
    rightsBlock(pipeline.rights, '      ');
  }

  if (explanation.nativeModules.length > 0) {
    heading(`Native modules (${explanation.nativeModules.length})`);
    for (const module of explanation.nativeModules) {
      const where = [module.specialFile ? `special file ${safe(module.specialFile)}` : '', module.entryPoint ? `entry point ${safe(module.entryPoint)}` : '']
        .filter(Boolean)
        .join(', ');
      lines.push(`"${displaySafe(module.name, '"')}"  ${safe(module.kind)}  ${where}`);
    }
  }

  heading('Trust');
  lines.push('Isolates accepted (runtime hashes):');
  for (const runtime of explanation.runtimes) lines.push(`    ${runtime.platform.padEnd(8)} ${safe(runtime.hash)}${runtime.platform === 'linux' ? '  (software isolate, not hardware-protected)' : ''}`);
  lines.push(`PAS         ${safe(explanation.pas.url)}, CA ${safe(explanation.pas.subject)}, ${day(explanation.pas.notBefore)} to ${day(explanation.pas.notAfter)}: ${explanation.pas.validity}`);
  lines.push(`Server      ${safe(explanation.server)}`);
  const suite = explanation.ciphersuite;
  lines.push(
    suite.tls12
      ? `TLS         ${safe(suite.veracruz)} is TLS 1.2: TLS 1.3 ${suite.inUse} (${suite.openssl}) is used instead`
      : `TLS         TLS 1.3 ${safe(suite.veracruz)} (${safe(suite.openssl)})`,
  );

  heading('Settings');
  const settings = explanation.settings;
  lines.push(`debug               ${settings.debug}`);
  lines.push(`enable_clock        ${settings.enableClock}`);
  lines.push(`execution_strategy  ${safe(settings.executionStrategy)} (kept for Veracruz compatibility: both values mean the same engine here)`);
  lines.push(`max_memory_mib      ${settings.maxMemoryMib} (the isolate's whole memory budget: see Memory budget)`);
  lines.push(`default limits      ${formatLimits(settings.defaultLimits)}${settings.limits === undefined ? ' (policy sets none)' : ''}`);
  lines.push(
    `enclave_cert_expiry ${explanation.enclaveCertExpiry} UTC: ${explanation.enclaveCertExpiryValidity}. The isolate's certificate expires by then at the latest`,
    "                    (vc-server asks the PAS for that cap), so parties refuse the isolate after it and no isolate",
    '                    can be started for this policy. A host that does not ask gets the PAS\'s own lifetime.',
  );

  heading('Memory budget');
  const budget = explanation.memoryBudget;
  lines.push(`${budget.mib} MiB (max_memory_mib) is all the memory the isolate holds for principals. It counts:`);
  for (const item of budget.holds) lines.push(`    ${item}`);
  lines.push(`Files, streams and programs' memory together may use ${budget.mib - budget.servingReserveMib} MiB of it: the last ${budget.servingReserveMib} MiB`);
  lines.push('are kept for sessions, requests and responses, so that results filling the rest can still be read.');
  lines.push('Whatever would not fit is refused before it is stored: a write gets limit_exceeded; a program');
  lines.push('gets ENOSPC or a failed allocation, and its run ends with limit_exceeded naming the resource.');
  if (budget.programs.length > 0) {
    lines.push("Each program's own memory cap, drawn from the same budget:");
    const paths = budget.programs.map((program) => safe(program.path));
    const width = Math.max(...paths.map((path) => path.length));
    budget.programs.forEach((program, index) => {
      const share =
        program.maxMemoryMib > budget.mib
          ? ' (more than the whole budget: the budget stops it first)'
          : program.maxMemoryMib === budget.mib
            ? ' (the whole budget, which it shares with everything above)'
            : '';
      lines.push(`    ${paths[index]!.padEnd(width)}  ${program.maxMemoryMib} MiB${share}`);
    });
  }

  const topLevel = new Set(explanation.ignoredTopLevelKeys);
  const ignored = [
    ...explanation.ignoredTopLevelKeys.map((key) => `ignored: unknown top-level key '${displaySafe(key, "'")}'`),
    ...explanation.unknownFields.filter((field) => !topLevel.has(field)).map((field) => `ignored: unknown field '${displaySafe(field, "'")}'`),
  ];
  heading(`Ignored by this version (${ignored.length})`);
  if (ignored.length === 0) lines.push('(none: this version reads every field of the policy)');
  lines.push(...ignored);

  heading(`Data flows between parties (${explanation.flows.length})`);
  if (explanation.flows.length === 0) lines.push('(none: no program carries one party\'s data to another party)');
  for (const flow of explanation.flows) {
    const [first, ...rest] = flow.route.map(safe);
    lines.push(`${who(flow.from)} writes ${first}`);
    for (let index = 0; index + 1 < rest.length; index += 2) lines.push(`    -> ${rest[index]} reads it and writes ${rest[index + 1]}`);
    lines.push(`    -> ${who(flow.to)} reads ${rest[rest.length - 1]}`);
  }
  if (explanation.flows.length > 0) lines.push('', 'Each party above learns whatever those programs derive from the other party\'s data: review the programs.');

  heading(`Risks (${explanation.risks.length})`);
  const colours: Record<Severity, string> = { high: '31;1', medium: '33', low: '36', info: '2' };
  if (explanation.risks.length === 0) lines.push('(none found)');
  for (const item of explanation.risks) {
    const [first, ...rest] = wrapWords(item.message, 92);
    lines.push(`${paint(colours[item.severity], item.severity.toUpperCase().padEnd(6))}  ${first}`);
    for (const line of rest) lines.push(`        ${line}`);
  }
  return `${lines.join('\n')}\n`;
}
