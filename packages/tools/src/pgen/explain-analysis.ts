/**
 * The analysis behind `vc-pgen explain`: what a party should understand before agreeing to a
 * policy, computed from the parsed policy as a structured {@link Explanation}. Pure: no I/O.
 *
 * Data-flow analysis: every file-rights prefix of every principal (identities, other isolates
 * named as principals, programs, pipelines) splits the file tree into regions in which each principal's rights are constant
 * (a region is a prefix minus the deeper prefixes under it). Within that model: an identity that
 * can write a region feeds the programs that can read it; a program that can write a region feeds
 * the identities that can read it, and other programs. Every path from one party's writable
 * region to a different party's readable region is reported. A `dataflow` file carries the data
 * of every party whose data reaches it that way, out of this isolate.
 *
 * Every string taken from the policy (or from a certificate it holds) that a risk message quotes
 * goes through {@link displaySafe}, so the messages are safe to print as they are.
 */
import { createHash } from 'node:crypto';
import { sameBytes } from '@veracruz-ts/core';
import {
  Right,
  STD_STREAMS,
  formatPipeline,
  formatRights,
  hasRights,
  isStdStream,
  nativeModuleSpecialFile,
  normalizePath,
  opensslCiphersuite,
  tls13Ciphersuite,
  pipelineConditions,
  pipelinePrograms,
  programLimits,
  readCertificatePem,
  resolveRights,
  streamWriters,
  validityProblem,
  expectedFileHash,
  type FileRights,
  type Policy,
  type PolicyPeer,
  unknownTopLevelKeys,
} from '@veracruz-ts/policy';
import { NODE_BYTES, servingReserve } from '@veracruz-ts/runtime';
import { displaySafe, hasHiddenCharacters } from './display-safe.ts';
import type {
  AwaitInputsSummary,
  DataFlow,
  DataflowSummary,
  Explanation,
  IsolatePrincipalSummary,
  NetworkSummary,
  PeerSummary,
  PipelineSummary,
  PrincipalSummary,
  ProgramSummary,
  RightsLine,
  Risk,
  Severity,
  StreamSummary,
} from './explain-model.ts';

/** Options of {@link explainPolicy}. */
export interface ExplainOptions {
  /** The time validity is judged at. */
  at: Date;
  /** A certificate expiring within this many days is flagged. @default 30 */
  expiringWithinDays?: number;
}

const DAY_MS = 86_400_000;
const EXECUTE_NEEDS = Right.FD_EXECUTE | Right.FD_SEEK;

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
  const isolateIds = new Set(policy.isolate_principals.map((principal) => principal.id));
  const who = (id: number) => {
    const identity = policy.identities.find((candidate) => candidate.id === id);
    const name = identity?.certificateInfo.commonName;
    if (name) return `#${id} (${displaySafe(name)})`;
    return isolateIds.has(id) ? `#${id} (isolate)` : `#${id}`;
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

  // Another isolate named as a principal holds a session like an identity does, with its rights.
  const parties: readonly { id: number; file_rights: readonly FileRights[] }[] = [...policy.identities, ...policy.isolate_principals];
  const identitiesWith = (path: string, need: number) =>
    parties.filter((identity) => ((resolveRights(identity.file_rights, path)?.rights ?? 0) & need) === need).map((identity) => identity.id);

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
      runnableBy: parties
        .filter((identity) => paths.every((path) => ((resolveRights(identity.file_rights, path)?.rights ?? 0) & EXECUTE_NEEDS) === EXECUTE_NEEDS))
        .map((identity) => identity.id),
    };
  });

  const streams = policy.streams.map((stream): StreamSummary => {
    const writers = streamWriters(policy, stream.path);
    const writing = (entries: readonly FileRights[]) => ((resolveRights(entries, stream.path)?.rights ?? 0) & Right.FD_WRITE) !== 0;
    return {
      path: stream.path,
      kind: writers.length > 0 ? 'input' : 'output',
      writers,
      writtenBy: [
        ...policy.programs.filter((program) => writing(program.file_rights)).map((program) => normalizePath(program.program_file_name)),
        ...policy.pipelines.flatMap((pipeline, index) => (writing(pipeline.file_rights) ? [`pipeline ${index}`] : [])),
      ],
      followers: identitiesWith(stream.path, Right.FD_READ),
      deadlineMs: stream.deadline_ms,
      maxBufferedBytes: stream.max_buffered_bytes,
      onWriterDisconnect: stream.on_writer_disconnect,
    };
  });
  for (const stream of streams) {
    const label = `Stream ${displaySafe(stream.path)}`;
    if (stream.kind === 'output' && stream.writtenBy.length === 0) {
      risk('info', `${label}: no identity, program or pipeline can write it, so it stays empty and whoever follows it waits in vain.`);
    }
    // Availability chosen over completeness: the untrusted host decides when such a stream ends, and nothing says data is missing.
    const early = 'the program then computes on what arrived, and nothing tells it, or whoever reads its results, that data is missing.';
    if (stream.kind === 'input' && stream.onWriterDisconnect === 'close') {
      risk('medium', `${label}: the host can end this stream early by cutting a writer's connection (on_writer_disconnect "close" counts a writer that leaves without closing it as done); ${early}`);
    }
    if (stream.kind === 'input' && stream.deadlineMs !== undefined) {
      risk('medium', `${label}: the host can end this stream early by delaying a writer's data past its deadline (deadline_ms ${stream.deadlineMs}); ${early}`);
    }
    if (stream.kind === 'input' && stream.deadlineMs === undefined && stream.onWriterDisconnect === 'wait') {
      risk(
        'low',
        `${label} has no deadline and waits for a writer that leaves without closing it: if ${whoList(stream.writers)} never come back, it never ends and programs reading it run until their time limit.`,
      );
    }
  }

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
  for (const principal of policy.isolate_principals) {
    const label = `Identity ${who(principal.id)}`;
    if (principal.file_rights.some((entry) => normalizePath(entry.file_name) === '/' && entry.rights !== 0)) {
      risk('high', `${label} has rights on "/": every file of the computation, including other parties' inputs and the programs.`);
    }
    if (principal.file_rights.length === 0) risk('info', `${label} has no file rights (it can only connect and request shutdown).`);
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
    ...parties.map((identity): Actor => ({ kind: 'identity', key: identity.id, label: who(identity.id), entries: identity.file_rights })),
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
  // The regions each party's data can reach, through programs or not.
  const reachable = new Map<Actor, string[]>();
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
    reachable.set(source, [...routes.keys()]);
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

  // The runtime hashes this policy trusts, by platform: its own isolate's, and by default its peers'.
  const runtimes: { platform: string; hash: string }[] = [];
  for (const [platform, hash] of [
    ['linux', policy.runtime_manager_hash_linux],
    ['nitro', policy.runtime_manager_hash_nitro],
    ['sev-snp', policy.runtime_manager_hash_sevsnp],
    ['tdx', policy.runtime_manager_hash_tdx],
  ] as const) {
    if (hash !== null) runtimes.push({ platform, hash });
  }

  // Networks of isolates: other isolates as principals, data pushed to them, programs waiting for inputs.
  const computationsWriting = (path: string) => [
    ...policy.programs.filter((program) => hasRights(program.file_rights, path, Right.FD_WRITE)).map((program) => normalizePath(program.program_file_name)),
    ...policy.pipelines.flatMap((pipeline, index) => (hasRights(pipeline.file_rights, path, Right.FD_WRITE) ? [`pipeline ${index}`] : [])),
  ];
  const pasInfo = policy.proxyServiceCertInfo;
  const peerSummary = (peer: PolicyPeer): PeerSummary => {
    const ownHashes = runtimes.map((runtime) => runtime.hash);
    const ownRuntimes = peer.runtimeHashes.length === ownHashes.length && peer.runtimeHashes.every(({ hash }) => ownHashes.includes(hash));
    const info = peer.proxy_service_cert === policy.proxy_service_cert ? pasInfo : readCertificatePem(peer.proxy_service_cert);
    const ownPas = typeof info !== 'string' && sameBytes(info.der, pasInfo.der);
    const summary: PeerSummary = {
      ownPas,
      ownRuntimes,
      runtimes: (ownRuntimes ? runtimes : peer.runtimeHashes).map((runtime) => ({ ...runtime })),
    };
    if (typeof info === 'string') summary.otherPas = { problem: info };
    else if (!ownPas) {
      summary.otherPas = {
        subject: info.subject,
        commonName: info.commonName,
        sha256: createHash('sha256').update(info.der).digest('hex'),
        notBefore: info.notBefore,
        notAfter: info.notAfter,
        validity: validityText(info.notBefore, info.notAfter, at, soonDays),
      };
    }
    return summary;
  };
  /**
   * What trusting a peer's PAS CA and runtime hashes means. `stake`: what an isolate certified as the
   * peer can do ("acts as #4"); `exposed`: what its host sees on a software isolate; `loss`: what fails
   * when no isolate can be verified as it.
   */
  const peerRisks = (label: string, peer: PeerSummary, wording: { stake: string; exposed: string; loss: string }) => {
    const { stake, exposed, loss } = wording;
    const other = peer.otherPas;
    if (other !== undefined && 'problem' in other) {
      risk('high', `${label}: the PAS CA written for it (proxy_service_cert) is ${displaySafe(other.problem)}: no isolate can be verified as it, so ${loss}.`);
    } else if (other !== undefined) {
      risk(
        'medium',
        `${label} is verified by a PAS CA other than this policy's (${displaySafe(other.subject)}, SHA-256 ${other.sha256}): whoever controls that PAS can certify an isolate that ${stake}. Agree only if you trust that PAS as you trust this policy's.`,
      );
      if (other.validity === 'expired') risk('high', `${label}: its PAS CA certificate expired on ${other.notAfter.toISOString()}: no isolate can be verified as it, so ${loss}.`);
      else if (other.validity === 'not yet valid') risk('medium', `${label}: its PAS CA certificate is not valid until ${other.notBefore.toISOString()}.`);
      else if (other.validity !== 'valid') risk('low', `${label}: its PAS CA certificate ${other.validity} (${other.notAfter.toISOString()}).`);
    }
    // This policy's own linux hash is flagged once, below.
    if (!peer.ownRuntimes && peer.runtimes.some((runtime) => runtime.platform === 'linux')) {
      risk('high', `${label} may be a linux software isolate (runtime_manager_hash_linux): it has no hardware protection, so whoever controls its host ${exposed}.`);
    }
  };
  const isolatePrincipals = policy.isolate_principals.map((principal): IsolatePrincipalSummary => ({
    id: principal.id,
    identityHash: principal.isolate.policy_hash,
    peer: peerSummary(principal.isolate),
    rights: rightsLines(principal.file_rights),
  }));
  for (const principal of isolatePrincipals) {
    const name = who(principal.id);
    peerRisks(`Identity ${name}`, principal.peer, {
      stake: `acts as ${name}, with its rights here`,
      exposed: 'can read what that isolate reads here and choose what it writes',
      loss: `${name} cannot connect`,
    });
  }
  // A party's data reaches a file when it writes it, or a program reads a region that data reaches and writes the file.
  const carriers = (path: string) =>
    identities
      .filter(
        (source) =>
          can(source, path, Right.FD_WRITE) ||
          computations.some((computation) => can(computation, path, Right.FD_WRITE) && (reachable.get(source) ?? []).some((region) => can(computation, region, Right.FD_READ))),
      )
      .map((source) => source.key as number);
  const dataflow = policy.dataflow.map((flow): DataflowSummary => ({
    file: flow.file,
    path: flow.path,
    address: flow.address,
    policyHash: flow.isolate.policy_hash,
    peer: peerSummary(flow.isolate),
    writtenBy: computationsWriting(flow.file),
    carries: carriers(flow.file),
  }));
  for (const flow of dataflow) {
    const file = displaySafe(flow.file);
    const destination = `${displaySafe(flow.path)} on the isolate at ${displaySafe(flow.address)}`;
    if (flow.writtenBy.length === 0 && flow.carries.length === 0) {
      risk('info', `Dataflow of ${file}: no principal, program or pipeline can write it here, so nothing is ever pushed to ${destination}.`);
      continue;
    }
    const carried = flow.carries.length > 0 ? ` It can carry data written by ${whoList(flow.carries)}.` : '';
    risk(
      'medium',
      `Data leaves this isolate: after every successful program run, ${file} is pushed to ${destination}, whose policy (SHA-256 ${flow.policyHash}), not this one, decides who can read it there.${carried} Read that policy before agreeing.`,
    );
    peerRisks(`The isolate receiving ${file} at ${displaySafe(flow.address)}`, flow.peer, {
      stake: `receives ${file}`,
      exposed: `can read ${file} once it arrives there`,
      loss: `${file} is never delivered`,
    });
  }
  const awaitInputs = policy.await_inputs.map((awaited): AwaitInputsSummary => ({
    program: awaited.program,
    files: awaited.files.map((path) => ({ path, writers: identitiesWith(path, Right.FD_WRITE), writtenBy: computationsWriting(path) })),
    deadlineMs: awaited.deadline_ms,
  }));
  for (const awaited of awaitInputs) {
    for (const file of awaited.files) {
      if (file.writers.length === 0 && file.writtenBy.length === 0) {
        risk(
          'info',
          `Program ${displaySafe(awaited.program)} waits for ${displaySafe(file.path)}, which no principal, program or pipeline can write: each run of it fails after ${awaited.deadlineMs} ms (unavailable).`,
        );
      }
    }
  }
  const network: NetworkSummary | undefined =
    isolatePrincipals.length + dataflow.length + awaitInputs.length > 0 ? { identityHash: policy.identityHash, isolatePrincipals, dataflow, awaitInputs } : undefined;

  // Trust and settings.
  if (policy.runtime_manager_hash_linux !== null) {
    risk('high', 'The policy trusts the linux software isolate: it has no hardware protection, so whoever controls the host running vc-server can read every input and result. Agree only for development or if you trust that host.');
  }
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
    entries.forEach((entry, index) => {
      noteHidden(entry.file_name, `${where}.file_rights[${index}].file_name`);
    });
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
  policy.file_hashes.forEach((entry, index) => {
    noteHidden(entry.file_path, `file_hashes[${index}].file_path`);
  });
  policy.pipelines.forEach((pipeline, index) => {
    noteHidden(pipeline.name, `pipelines[${index}].name`);
    noteHidden(pipeline.pipeline, `pipelines[${index}].pipeline`);
    noteRights(pipeline.file_rights, `pipelines[${index}]`);
  });
  policy.streams.forEach((stream, index) => {
    noteHidden(stream.path, `streams[${index}].path`);
  });
  policy.native_modules.forEach((module, index) => {
    noteHidden(module.name, `native_modules[${index}].name`);
    for (const [kind, body] of Object.entries(module.type) as [string, Record<string, string>][]) {
      for (const [field, value] of Object.entries(body)) noteHidden(value, `native_modules[${index}].type.${kind}.${field}`);
    }
  });
  isolatePrincipals.forEach((principal, index) => {
    const parsed = policy.isolate_principals[index]!;
    const where = `identities[${parsed.index}]`;
    noteRights(parsed.file_rights, where);
    const other = principal.peer.otherPas;
    if (other !== undefined && !('problem' in other)) noteCertificate(other, `${where}.isolate.proxy_service_cert`);
  });
  dataflow.forEach((flow, index) => {
    noteHidden(flow.file, `dataflow[${index}].file`);
    noteHidden(flow.path, `dataflow[${index}].path`);
    noteHidden(flow.address, `dataflow[${index}].address`);
    const other = flow.peer.otherPas;
    if (other !== undefined && !('problem' in other)) noteCertificate(other, `dataflow[${index}].isolate.proxy_service_cert`);
  });
  awaitInputs.forEach((awaited, index) => {
    noteHidden(awaited.program, `await_inputs[${index}].program`);
    awaited.files.forEach((file, fileIndex) => {
      noteHidden(file.path, `await_inputs[${index}].files[${fileIndex}]`);
    });
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
    streams,
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
    ...(network === undefined ? {} : { network }),
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
