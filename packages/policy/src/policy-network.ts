/**
 * Networks of isolates in a policy: other isolates as principals (an `identities` entry with
 * `isolate` instead of `certificate`), outputs pushed to a peer isolate (`dataflow`), and programs
 * that wait for their inputs (`await_inputs`). Each fault names its JSON path.
 */
import { parseHostPort } from '@veracruz-ts/core';
import { policyHash } from './policy-hash.ts';
import { invalid, join, ObjectReader, show } from './policy-json-reader.ts';
import { RUNTIME_HASH_FIELDS } from './policy-defaults.ts';
import type { PolicyAwaitInputs, PolicyDataflow, PolicyPeer, PolicyPlatform } from './policy-model.ts';
import { normalizePath } from './rights.ts';

/** The policy's own trust, the default of a peer that names none of its own. */
export interface OwnTrust {
  proxy_service_cert: string;
  runtimeHashes: PolicyPeer['runtimeHashes'];
}

/** Reads an `isolate` object: what a peer isolate must prove. */
export function readPeer(value: unknown, path: string, own: OwnTrust, unknown: Record<string, unknown>): PolicyPeer {
  const entry = new ObjectReader(value, path);
  const hash = entry.string('policy_hash');
  if (!/^[0-9a-f]{64}$/.test(hash)) invalid(entry.at('policy_hash'), `expected 64 lowercase hex digits, got ${show(hash)}`);
  const runtimeHashes: PolicyPeer['runtimeHashes'] = [];
  for (const [platform, field] of Object.entries(RUNTIME_HASH_FIELDS) as [PolicyPlatform, string][]) {
    if (!entry.has(field)) continue;
    const listed = entry.string(field);
    if (!/^([0-9a-fA-F]{64}|[0-9a-fA-F]{96})$/.test(listed)) invalid(entry.at(field), `expected 64 (or 96) hex digits, got ${show(listed)}`);
    runtimeHashes.push({ platform, hash: listed.toLowerCase() });
  }
  const peer: PolicyPeer = {
    policy_hash: hash,
    proxy_service_cert: entry.has('proxy_service_cert') ? entry.nonEmptyString('proxy_service_cert') : own.proxy_service_cert,
    runtimeHashes: runtimeHashes.length > 0 ? runtimeHashes : own.runtimeHashes,
  };
  entry.collectUnknown(unknown);
  return peer;
}

function filePath(written: unknown, at: string): string {
  if (typeof written !== 'string' || !written.startsWith('/') || written.endsWith('/')) invalid(at, `expected an absolute file path, got ${show(written)}`);
  return normalizePath(written);
}

/** The `dataflow` entries (absent: []). */
export function readDataflow(value: unknown, own: OwnTrust, unknown: Record<string, unknown>): PolicyDataflow[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid('dataflow', `expected an array, got ${show(value)}`);
  return value.map((item, index) => {
    const entry = new ObjectReader(item, join('dataflow', index));
    const address = entry.string('address');
    try {
      parseHostPort(address);
    } catch {
      invalid(entry.at('address'), `expected host:port, got ${show(address)}`);
    }
    const flow: PolicyDataflow = {
      file: filePath(entry.raw('file'), entry.at('file')), path: filePath(entry.raw('path'), entry.at('path')), address, isolate: readPeer(entry.required('isolate'), entry.at('isolate'), own, unknown),
    };
    entry.collectUnknown(unknown);
    return flow;
  });
}

/** The `await_inputs` entries (absent: []). */
export function readAwaitInputs(value: unknown, unknown: Record<string, unknown>): PolicyAwaitInputs[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) invalid('await_inputs', `expected an array, got ${show(value)}`);
  return value.map((item, index) => {
    const entry = new ObjectReader(item, join('await_inputs', index));
    const files = entry.array('files').map((file, fileIndex) => filePath(file, join(entry.at('files'), fileIndex)));
    const awaited = { program: filePath(entry.raw('program'), entry.at('program')), files, deadline_ms: entry.integer('deadline_ms', 1, 2 ** 31 - 1) };
    entry.collectUnknown(unknown);
    return awaited;
  });
}

/**
 * The policy's identity hash: how a receiving isolate's policy names this one as a principal. It is
 * the SHA-256 of the policy's bytes with each `dataflow` destination's `policy_hash` (as written)
 * replaced by as many zeros: the receiver's policy must name the sender before the receiver's hash
 * exists, so the sender's name for it cannot be part of the sender's identity. Without `dataflow` it
 * is the policy hash.
 */
export function policyIdentityHash(text: string, dataflow: readonly Pick<PolicyDataflow, 'isolate'>[]): Promise<string> {
  let blanked = text;
  for (const flow of dataflow) blanked = blanked.replaceAll(flow.isolate.policy_hash, '0'.repeat(64));
  return policyHash(blanked);
}
