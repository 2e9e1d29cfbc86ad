import { createHash } from 'node:crypto';
import { SIGNED_RESULT_TYPE, type SignedResult, type SignedResultStatement, signedResultStatement } from '@veracruz-ts/attestation/signed-result';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { normalizePath } from '@veracruz-ts/policy';
import { Errno } from '../../vfs/errno.ts';
import { MAX_PATH_BYTES } from '../../vfs/path-resolution.ts';
import { fail } from '../fail.ts';
import type { ProcessContext } from '../process-context.ts';
import type { ProgramAbi } from '../process-options.ts';
import { defineSystemCalls } from '../system-call-handler.ts';

function abiOf(context: ProcessContext): ProgramAbi {
  return context.abi ?? fail(Errno.NOTSUP);
}

/** A list of u32 ids: how many at `countPointer`, the ids at `out` if `capacity` holds them (else ENOBUFS). */
function ids(context: ProcessContext, list: readonly number[], out: number, capacity: number, countPointer: number): number {
  if (list.length <= capacity) context.memory.range(out, list.length * 4);
  context.memory.putU32(countPointer, list.length);
  if (list.length > capacity) return Errno.NOBUFS;
  context.memory.putU32s(out, list);
  return Errno.SUCCESS;
}

/** The errno of a refused file operation of `result_sign` (the program's own rights, as for its file calls). */
function refusal(reason: unknown): number {
  if (!(reason instanceof VeracruzError)) throw reason;
  return reason.code === Code.PermissionDenied ? Errno.NOTCAPABLE
    : reason.code === Code.NotFound ? Errno.NOENT
    : reason.code === Code.LimitExceeded ? Errno.NOSPC : Errno.INVAL;
}

function signResult(context: ProcessContext, path: string, outPath: string): number {
  const { signer, policyHash, program } = abiOf(context);
  if (signer === undefined) return Errno.NOTSUP;
  const view = context.vfs.view(context.rights);
  try {
    // Hashed a MiB at a time: a file may be larger than the memory budget (sealed storage), and is not copied whole.
    const size = view.fileSize(path);
    const hash = createHash('sha256');
    const chunk = new Uint8Array(Math.min(size, 1 << 20));
    for (let at = 0; at < size; at += chunk.length) hash.update(chunk.subarray(0, view.readRangeInto(path, at, chunk)));
    const statement: SignedResultStatement = {
      path: normalizePath(path), size, sha256: hash.digest('hex'),
      policy_hash: Buffer.from(policyHash).toString('hex'), program, signed_at: new Date().toISOString(),
    };
    const signature = Buffer.from(signer.sign(signedResultStatement(statement))).toString('base64');
    const envelope: SignedResult = { type: SIGNED_RESULT_TYPE, version: 1, ...statement, certificate: signer.certificatePem, signature };
    view.writeFile(outPath, Buffer.from(`${JSON.stringify(envelope, null, 2)}\n`));
  } catch (reason) {
    return refusal(reason);
  }
  return Errno.SUCCESS;
}

/**
 * `veracruz_v1` (docs/program-abi.md): the program's view of its computation: the policy, the rights
 * in force, narrowing them, and results signed by the isolate. ENOTSUP outside a computation.
 */
export const COMPUTATION_CALLS = defineSystemCalls({
  policy_get: (context, out, size, outLength) => context.memory.output(abiOf(context).policyText, out, size, outLength),
  policy_hash: (context, out) => {
    context.memory.range(out, 32).set(abiOf(context).policyHash);
    return Errno.SUCCESS;
  },
  subjects: (context, out, capacity, count) => ids(context, abiOf(context).rights.subjects(), out, capacity, count),
  rights_get: (context, subject, path, pathLength, rights) => {
    const granted = abiOf(context).rights.rightsOf(subject, context.memory.string(path, pathLength));
    if (granted === undefined) return Errno.NOENT;
    context.memory.putU32(rights, granted);
    return Errno.SUCCESS;
  },
  readers: (context, path, pathLength, out, capacity, count) =>
    ids(context, abiOf(context).rights.readers(context.memory.string(path, pathLength)), out, capacity, count),
  rights_narrow: (context, subject, path, pathLength, rights) => {
    const abi = abiOf(context);
    return pathLength > MAX_PATH_BYTES ? Errno.NAMETOOLONG : abi.rights.narrow(subject, context.memory.string(path, pathLength), rights, abi.program);
  },
  result_sign: (context, path, pathLength, outPath, outPathLength) =>
    signResult(context, context.memory.string(path, pathLength), context.memory.string(outPath, outPathLength)),
});
