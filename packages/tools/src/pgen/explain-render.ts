/**
 * Lays out what `vc-pgen explain` found: plain text for a party to read, sections in the order
 * they read them, or JSON for tools. Text from the policy is escaped here ({@link displaySafe});
 * risk messages arrive escaped already.
 */
import { WASM32_MAX_MEMORY_MIB, type ProgramLimits, type WriterDisconnect, wrapWords } from '@veracruz-ts/policy';
import { displaySafe } from './display-safe.ts';
import type { Explanation, PeerSummary, RightsLine, Severity } from './explain-model.ts';

function day(date: Date): string {
  return date.toISOString().slice(0, 10);
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

/** The term a policy in a network of isolates adds: how isolates name one another. */
const NETWORK_TERMS: readonly (readonly [string, string])[] = [
  [
    'identity hash',
    "how one isolate's policy names another isolate as a principal: the SHA-256 of that isolate's policy with the policy hashes of the isolates it sends data to written as zeros (its policy hash, when it sends none), so that two policies can name each other. The PAS certifies both hashes in the isolate's certificate.",
  ],
];

/** Options of {@link renderExplanation}. */
export interface RenderOptions {
  /** Use ANSI colour for severities (only for a terminal). @default false */
  color?: boolean;
  /** The file name shown in the title. */
  source?: string;
}

/** What each `on_writer_disconnect` setting does, in the words of the summary. */
const WRITER_DISCONNECT_TEXT: Record<WriterDisconnect, string> = {
  abort: 'before closing it: the stream fails (abort), and readers get an error naming the writer',
  close: 'before closing it: counted as its close (close)',
  wait: 'before closing it: nothing happens (wait); it may come back and go on',
};

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
  const network = explanation.network;
  const names = new Map([
    ...(network?.isolatePrincipals ?? []).map((principal) => [principal.id, 'isolate'] as const),
    ...explanation.principals.map((principal) => [principal.id, principal.commonName] as const),
  ]);
  const who = (id: number) => (names.get(id) ? `#${id} (${safe(names.get(id)!)})` : `#${id}`);
  const whoList = (ids: number[]) => (ids.length === 0 ? 'nobody' : ids.map(who).join(', '));
  const rightsBlock = (rights: RightsLine[], indent: string) => {
    if (rights.length === 0) lines.push(`${indent}(no file rights)`);
    const paths = rights.map((line) => safe(line.path));
    const width = Math.max(0, ...paths.map((path) => path.length));
    const verbWidth = Math.max(0, ...rights.map((line) => line.verbs.length));
    rights.forEach((line, index) => {
      lines.push(`${indent}${paths[index]!.padEnd(width)}  ${line.verbs.padEnd(verbWidth)}  [${line.short}]`);
    });
  };
  // What another isolate must prove: the PAS CA its certificate chains to and the runtime hash it carries.
  const peerBlock = (peer: PeerSummary, indent: string) => {
    const other = peer.otherPas;
    if (other === undefined) lines.push(`${indent}PAS CA          this policy's own (see Trust)`);
    else if ('problem' in other) lines.push(`${indent}PAS CA          NOT A CERTIFICATE: ${safe(other.problem)}`);
    else {
      lines.push(`${indent}PAS CA          NOT this policy's: ${safe(other.subject)}, ${day(other.notBefore)} to ${day(other.notAfter)}: ${other.validity}`);
      lines.push(`${indent}                SHA-256 ${other.sha256}`);
    }
    if (peer.ownRuntimes) {
      lines.push(`${indent}runtime hash    one of this policy's own (see Trust)`);
    } else {
      lines.push(`${indent}runtime hash    one of its own:`);
      for (const runtime of peer.runtimes) {
        lines.push(`${indent}                ${runtime.platform.padEnd(8)} ${safe(runtime.hash)}${runtime.platform === 'linux' ? '  (software isolate, not hardware-protected)' : ''}`);
      }
    }
  };

  // A file name can hold control characters as well as a policy can.
  const title = `Policy ${safe(options.source ?? '')}`.trim();
  lines.push(paint('1', title), '='.repeat(title.length));
  lines.push(`SHA-256     ${safe(explanation.hash)}`);
  if (network !== undefined) lines.push(`Identity    ${safe(network.identityHash)}  (how other isolates' policies name this one: see Terms)`);
  lines.push(`Checked at  ${explanation.at.toISOString()}`);
  const counts = { high: 0, medium: 0, low: 0, info: 0 };
  for (const item of explanation.risks) counts[item.severity]++;
  lines.push(`Findings    ${counts.high} high, ${counts.medium} medium, ${counts.low} low, ${counts.info} info (see Risks)`);

  heading('Terms');
  for (const [term, meaning] of network === undefined ? TERMS : [...TERMS, ...NETWORK_TERMS]) {
    const [first, ...rest] = wrapWords(meaning, 84);
    lines.push(`${term.padEnd(14)}${first}`, ...rest.map((line) => `${' '.repeat(14)}${line}`));
  }

  heading(`Principals (${explanation.principals.length + (network?.isolatePrincipals.length ?? 0)})`);
  for (const principal of explanation.principals) {
    lines.push(`${who(principal.id)}  ${safe(principal.subject)}`);
    lines.push(`    certificate ${day(principal.notBefore)} to ${day(principal.notAfter)}: ${principal.validity}`);
    rightsBlock(principal.rights, '    ');
  }
  for (const principal of network?.isolatePrincipals ?? []) {
    lines.push(`${who(principal.id)}  another isolate, known by the identity hash its certificate carries`);
    lines.push(`    identity hash   ${safe(principal.identityHash)}`);
    peerBlock(principal.peer, '    ');
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

  if (explanation.streams.length > 0) {
    heading(`Streams (${explanation.streams.length})`);
    for (const stream of explanation.streams) {
      lines.push(`${safe(stream.path)}  (${stream.kind} stream)`);
      if (stream.kind === 'input') {
        lines.push(`    appended by     ${whoList(stream.writers)}; it ends when all of them have closed it`);
        lines.push(`    writer leaves   ${WRITER_DISCONNECT_TEXT[stream.onWriterDisconnect]}`);
      } else {
        const programs = stream.writtenBy.map(safe).join(', ') || 'nobody';
        lines.push(`    written by      ${programs}; it ends when such a run finishes, and opens again with the next`);
      }
      lines.push(`    followed by     ${whoList(stream.followers)}`);
      lines.push(`    deadline        ${stream.deadlineMs === undefined ? 'none' : `${stream.deadlineMs} ms after it opens (first append or first wait)`}`);
      lines.push(`    buffered        appends are held while more than ${stream.maxBufferedBytes} bytes wait unread by a running program`);
    }
  }

  if (network !== undefined && network.awaitInputs.length > 0) {
    heading(`Programs waiting for inputs (${network.awaitInputs.length})`);
    for (const awaited of network.awaitInputs) {
      lines.push(`${safe(awaited.program)}  waits for these files, up to ${awaited.deadlineMs} ms from the request to run it:`);
      const paths = awaited.files.map((file) => safe(file.path));
      const width = Math.max(0, ...paths.map((path) => path.length));
      awaited.files.forEach((file, index) => {
        const writers = [...file.writers.map(who), ...file.writtenBy.map(safe)].join(', ') || 'nobody';
        lines.push(`    ${paths[index]!.padEnd(width)}  written by ${writers}`);
      });
      lines.push('    then, if any is still missing, the run fails (unavailable), naming the missing files');
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
  lines.push('Where the host gives the isolate sealed storage (vc-server does, by default), file contents beyond');
  lines.push("the budget are sealed out to the host's disk instead, up to that storage's bound: encrypted, and");
  lines.push('any change caught; the host learns their sizes and the order they are used, never their contents.');
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

  if (network !== undefined && network.dataflow.length > 0) {
    heading(`Data leaving this isolate (${network.dataflow.length})`);
    for (const flow of network.dataflow) {
      lines.push(`${safe(flow.file)}  ->  ${safe(flow.path)} on the isolate at ${safe(flow.address)}`);
      lines.push(`    policy hash     ${safe(flow.policyHash)} (of the receiving isolate's policy: its certificate must carry it)`);
      peerBlock(flow.peer, '    ');
      lines.push(`    written by      ${flow.writtenBy.map(safe).join(', ') || 'no program or pipeline'}`);
      lines.push(`    carries data of ${whoList(flow.carries)}`);
    }
    lines.push(
      '',
      'Each file is pushed whole after every successful program run here, and again until it is delivered.',
      "The receiving isolate's policy, not this one, decides who can read it there: read that policy too.",
    );
  }

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

/**
 * An explanation as JSON for tools (`vc-pgen explain --json`): the {@link Explanation} fields as
 * they are, dates in ISO form, a fuel limit held as a bigint as a decimal string. Policy text is
 * kept as written (a tool reads it as data); risk messages are display-safe already.
 */
export function renderExplanationJson(explanation: Explanation): string {
  return `${JSON.stringify(explanation, (_, value: unknown) => (typeof value === 'bigint' ? value.toString() : value), 2)}\n`;
}
