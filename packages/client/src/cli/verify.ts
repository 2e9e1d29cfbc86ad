import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { parsePolicy, UsageError } from '@veracruz-ts/policy';
import { verifySignedResult } from '../signed-result.ts';

/** `vc-client verify --help`. */
export const VERIFY_USAGE = `Usage: vc-client verify --policy POLICY.json --signature RESULT.sig [RESULT]

Checks, offline, a result a program had the isolate sign (veracruz_v1.result_sign): the envelope
is about this policy, its certificate chains to the policy's PAS CA and was valid when it signed,
binds this policy and carries a runtime hash the policy trusts, and the signature covers it. Given
RESULT (the file's bytes), also checks that they are the bytes signed. Needs no connection and no
identity: anyone holding the policy can check.

Options:
  --policy POLICY.json     the policy the parties agreed
  --signature RESULT.sig   the envelope result_sign wrote
  --json                   print what was verified (or the error) as JSON on stdout
  -h, --help               this text

Exit status: 0 verified, 1 not verified (the reason on stderr), 2 usage error.`;

/** Where `vc-client verify` reads and writes. */
export interface VerifyIo {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

async function readNamed(path: string, what: string): Promise<Uint8Array> {
  return readFile(path).catch((reason: NodeJS.ErrnoException) => {
    throw new VeracruzError(Code.NotFound, `cannot read the ${what} ${path}: ${reason.code ?? String(reason)}`);
  });
}

/** Runs `vc-client verify ARGS` (the arguments after `verify`); resolves with the exit status. Throws UsageError. */
export async function runVerify(argv: readonly string[], io: VerifyIo): Promise<number> {
  const parsed = parseVerifyArguments(argv);
  if (parsed === 'help') {
    io.stdout.write(`${VERIFY_USAGE}\n`);
    return 0;
  }
  const { policyPath, signaturePath, resultPath, json } = parsed;
  try {
    // Checked later, perhaps after the policy's certificates expired: the isolate's is checked at signed_at.
    const policy = await parsePolicy(new TextDecoder().decode(await readNamed(policyPath, 'policy')), { checkValidity: false });
    const envelope = await readNamed(signaturePath, 'signature');
    const data = resultPath === undefined ? undefined : await readNamed(resultPath, 'result');
    const verified = await verifySignedResult({ policy, envelope, ...(data === undefined ? {} : { data }) });
    const { certificate: _certificate, signature: _signature, ...facts } = verified;
    if (json) io.stdout.write(`${JSON.stringify({ verified: true, ...facts }, null, 2)}\n`);
    else {
      io.stdout.write(`verified: ${verified.path} (${verified.size} bytes, SHA-256 ${verified.sha256}${data === undefined ? ', file not given' : ', file matches'})\n` +
        `  signed at ${verified.signed_at} by an isolate attested to run policy ${verified.policy_hash}\n` +
        `  (${verified.platform} runtime ${verified.runtimeHash}), for program ${verified.program}\n`);
    }
    return 0;
  } catch (reason) {
    const error = VeracruzError.from(reason);
    if (json) io.stdout.write(`${JSON.stringify({ verified: false, error: { code: error.code, message: error.rawMessage } }, null, 2)}\n`);
    io.stderr.write(`vc-client verify: ${error.message}\n`);
    return 1;
  }
}

function parseVerifyArguments(argv: readonly string[]): 'help' | { policyPath: string; signaturePath: string; resultPath: string | undefined; json: boolean } {
  let values: { policy?: string; signature?: string; json?: boolean; help?: boolean };
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv], allowPositionals: true, strict: true,
      options: { policy: { type: 'string' }, signature: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (reason) {
    throw new UsageError(reason instanceof Error ? reason.message : String(reason));
  }
  if (values.help === true) return 'help';
  if (values.policy === undefined) throw new UsageError('verify needs --policy POLICY.json');
  if (values.signature === undefined) throw new UsageError('verify needs --signature RESULT.sig');
  if (positionals.length > 1) throw new UsageError(`verify checks one result file, got ${positionals.length}`);
  return { policyPath: values.policy, signaturePath: values.signature, resultPath: positionals[0], json: values.json === true };
}
