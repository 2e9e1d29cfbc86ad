/**
 * The policies of a fleet, from its topology and what the fleet has made or measured. A receiver
 * names each sender by the sender's identity hash, and a sender names its receiver by the receiver's
 * full policy hash; the cycle is broken as the identity hash allows: first every isolate's identity
 * hash (senders first, receivers' hashes left as zeros), then every final policy (receivers first).
 * Pure: files and the clock are read by the caller.
 */
import { Code, VeracruzError } from '@veracruz-ts/core';
import { parsePolicy } from '@veracruz-ts/policy';
import { buildPolicy, DEFAULT_MAX_MEMORY_MIB, type AwaitInput, type DataflowInput, type HashedFile, type PolicyInputs } from '@veracruz-ts/tools/generate';
import { stringifySorted } from '@veracruz-ts/tools/json';
import type { Topology, TopologyIsolate } from './topology.ts';

/** What {@link planFleet} needs besides the topology. */
export interface PlanInputs {
  topology: Topology;
  /** The runtime measurement of the topology's platform (lowercase hex). */
  runtimeHash: string;
  /** The PAS CA certificate (PEM): every policy's `proxy_service_cert`. */
  pasCaPem: string;
  /** The PAS's `host:port`. */
  pasAddress: string;
  /** Each party's certificate (PEM), by party name. */
  partyCertificates: Readonly<Record<string, string>>;
  /** Each isolate's `host:port`, by isolate name. */
  addresses: Readonly<Record<string, string>>;
  /** SHA-256 (lowercase hex) of each program binary, by its `file` as the topology gives it. */
  programHashes: Readonly<Record<string, string>>;
  /**
   * The certificate (PEM) of a principal given the write right on exactly the programs of each
   * isolate, so the fleet can upload them (the policy fixes their hashes). Absent: none.
   */
  provisionerCertificate?: string;
  /** Every policy's `enclave_cert_expiry`. */
  certificateExpiry: Date;
  /** When the certificates must be valid (each policy is parsed back at this time). */
  at: Date;
}

/** One isolate's policy. */
export interface PlannedIsolate {
  name: string;
  /** Its vc-server's `host:port`, as its policy and its senders' policies name it. */
  address: string;
  /** The policy's exact text. */
  policyText: string;
  /** SHA-256 of the policy text: what its parties and senders check. */
  policyHash: string;
  /** What its receivers' policies name it by (the policy hash when it sends nothing). */
  identityHash: string;
  /** The isolates that send to it, in topology order. */
  senders: string[];
  /** The isolates it sends to, in the order of its sends. */
  receivers: string[];
}

/** Every isolate's policy, in topology order. */
export interface FleetPlan {
  isolates: PlannedIsolate[];
}

/** The name of the provisioner's certificate in error messages. */
const PROVISIONER = 'the fleet provisioner';
const ZERO_HASH = '0'.repeat(64);

function policyInputs(isolate: TopologyIsolate, inputs: PlanInputs, identityHashes: ReadonlyMap<string, string>, receiverHash: (name: string) => string): PolicyInputs {
  const { topology } = inputs;
  const rightsOf = new Map(isolate.rights.map((entry) => [entry.party, entry.capability]));
  // Only the parties with a capability here are principals here; in the topology's party order.
  const parties = topology.parties.filter((party) => rightsOf.has(party.name));
  const certificates = parties.map((party) => {
    const pem = inputs.partyCertificates[party.name];
    if (pem === undefined) throw new VeracruzError(Code.InvalidRequest, `planFleet: no certificate for the party ${party.name}`);
    return { source: `party ${party.name}`, pem };
  });
  const capabilities = parties.map((party) => rightsOf.get(party.name)!);
  const provisioner = inputs.provisionerCertificate !== undefined && isolate.programs.length > 0;
  if (provisioner) {
    certificates.push({ source: PROVISIONER, pem: inputs.provisionerCertificate! });
    capabilities.push(isolate.programs.map((program) => `${program.path}:w`).join(','));
  }
  const senders = topology.isolates.filter((sender) => sender.sends.some((send) => send.to === isolate.name));
  const isolates = senders.map((sender) => {
    const policyHash = identityHashes.get(sender.name);
    if (policyHash === undefined) throw new VeracruzError(Code.Internal, `planFleet: ${sender.name}'s identity hash is needed before ${isolate.name}'s policy`);
    capabilities.push(sender.sends.filter((send) => send.to === isolate.name).map((send) => `${send.path}:w`).join(','));
    return { policyHash, source: `isolates.${sender.name} (a sender)` };
  });
  const programs = isolate.programs.map((program): HashedFile => {
    const sha256 = inputs.programHashes[program.file];
    if (sha256 === undefined) throw new VeracruzError(Code.InvalidRequest, `planFleet: no hash for the program file ${program.file}`);
    capabilities.push(program.rights);
    return { policyPath: program.path, source: program.file, sha256 };
  });
  const dataflow = isolate.sends.map((send, index): DataflowInput => ({
    file: send.file,
    path: send.path,
    address: addressOf(inputs, send.to),
    receiver: { policyHash: receiverHash(send.to) },
    source: `isolates.${isolate.name}.sends[${index}]`,
  }));
  const awaitInputs: AwaitInput[] = [];
  if (isolate.await !== undefined) {
    const files = senders.flatMap((sender) => sender.sends.filter((send) => send.to === isolate.name).map((send) => send.path));
    awaitInputs.push({
      program: isolate.await.program,
      files,
      source: `isolates.${isolate.name}.await`,
      ...(isolate.await.deadlineMs === undefined ? {} : { deadlineMs: isolate.await.deadlineMs }),
    });
  }
  return {
    certificates,
    capabilities,
    programs,
    pipelines: [],
    hashes: [],
    veracruzServer: addressOf(inputs, isolate.name),
    proxyAttestationServer: inputs.pasAddress,
    proxyServiceCertPem: inputs.pasCaPem,
    runtimeHashes: { [topology.platform]: inputs.runtimeHash },
    certificateExpiry: inputs.certificateExpiry,
    debug: false,
    executionStrategy: 'JIT',
    enableClock: false,
    maxMemoryMib: isolate.maxMemoryMib ?? DEFAULT_MAX_MEMORY_MIB,
    nativeModules: [],
    programLimits: [],
    isolates,
    dataflow,
    awaitInputs,
  };
}

function addressOf(inputs: PlanInputs, name: string): string {
  const address = inputs.addresses[name];
  if (address === undefined) throw new VeracruzError(Code.InvalidRequest, `planFleet: no address for the isolate ${name}`);
  return address;
}

/** Builds one policy's text and parses it back, so no policy is handed out that the isolate would refuse. */
async function generate(isolate: TopologyIsolate, inputs: PlanInputs, identityHashes: ReadonlyMap<string, string>, receiverHash: (name: string) => string) {
  const policyInput = policyInputs(isolate, inputs, identityHashes, receiverHash);
  let text: string;
  try {
    text = stringifySorted(buildPolicy(policyInput));
  } catch (error) {
    const failure = VeracruzError.from(error);
    throw new VeracruzError(failure.code, `isolates.${isolate.name}: ${failure.rawMessage}`, { cause: error });
  }
  try {
    return { text, policy: await parsePolicy(text, { at: inputs.at }) };
  } catch (error) {
    const failure = VeracruzError.from(error);
    throw new VeracruzError(failure.code, `isolates.${isolate.name}: the generated policy does not parse: ${failure.rawMessage}`, { cause: error });
  }
}

/**
 * Generates every isolate's policy. Senders' identity hashes come first (each generated with its
 * receivers' policy hashes as zeros, which is what the identity hash leaves out), then the final
 * policies from the last receivers back, so each sender names its receiver's final policy hash.
 * Throws VeracruzError naming the isolate when a policy cannot be generated.
 */
export async function planFleet(inputs: PlanInputs): Promise<FleetPlan> {
  const { topology } = inputs;
  const byName = new Map(topology.isolates.map((isolate) => [isolate.name, isolate]));
  const identityHashes = new Map<string, string>();
  for (const name of topology.order) {
    const { policy } = await generate(byName.get(name)!, inputs, identityHashes, () => ZERO_HASH);
    identityHashes.set(name, policy.hash);
  }
  const final = new Map<string, { text: string; hash: string }>();
  for (const name of [...topology.order].reverse()) {
    const { text, policy } = await generate(byName.get(name)!, inputs, identityHashes, (receiver) => {
      const planned = final.get(receiver);
      if (planned === undefined) throw new VeracruzError(Code.Internal, `planFleet: ${receiver}'s policy is needed before ${name}'s`);
      return planned.hash;
    });
    // Only the receivers' hashes changed, and the identity hash leaves exactly those out.
    if (policy.identityHash !== identityHashes.get(name)) {
      throw new VeracruzError(Code.Internal, `planFleet: ${name}'s identity hash changed when its receivers' policy hashes were filled in`);
    }
    final.set(name, { text, hash: policy.hash });
  }
  return {
    isolates: topology.isolates.map((isolate): PlannedIsolate => ({
      name: isolate.name,
      address: addressOf(inputs, isolate.name),
      policyText: final.get(isolate.name)!.text,
      policyHash: final.get(isolate.name)!.hash,
      identityHash: identityHashes.get(isolate.name)!,
      senders: topology.isolates.filter((sender) => sender.sends.some((send) => send.to === isolate.name)).map((sender) => sender.name),
      receivers: [...new Set(isolate.sends.map((send) => send.to))],
    })),
  };
}
