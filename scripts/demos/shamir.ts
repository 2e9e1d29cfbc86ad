// `npm run demo -- shamir`: the policy as an upper bound. Five custodians may, by the policy, read
// every share of a secret; the program (examples/programs/shamir-narrowing) chooses from the data
// (their scores) which three of them receive a share, writes the shares, and narrows the rights so
// each chosen custodian can read its own share only and the two it excluded read none. The isolate
// enforces that on every later request; the narrowing is listed for every party to see; the list of
// receivers is signed by the isolate and checked offline with `vc-client verify`. The choice and the
// secret (recombined from two shares) are checked against the same computation done here in the clear.
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { promisify } from 'node:util';
import { VeracruzClient } from '@veracruz-ts/client';
import { VeracruzError } from '@veracruz-ts/core';
import type { PasHandle } from '@veracruz-ts/pas';
import { formatRights } from '@veracruz-ts/policy';
import { buildRuntimeBundle, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { combineShares } from '../../examples/reference/gf256.ts';
import { createParties, shutDown, startDemoPas, startDemoServer, tearDown, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const PROGRAM = join(REPOSITORY_ROOT, 'examples/build/wasm/shamir-narrowing.wasm');
const REMOTE_PROGRAM = '/program/shamir-narrowing.wasm';
const CUSTODIANS = ['custodian-1', 'custodian-2', 'custodian-3', 'custodian-4', 'custodian-5'] as const;
type Custodian = (typeof CUSTODIANS)[number];
/** Receivers and threshold. */
const K = 3;
const T = 2;
/** Each custodian's score (say, an audit rating): the program picks the K best. */
const SCORES: Record<Custodian, number> = { 'custodian-1': 71, 'custodian-2': 94, 'custodian-3': 58, 'custodian-4': 94, 'custodian-5': 80 };

const { bold, step, say } = narrator(9);
const execFileAsync = promisify(execFile);

const u32 = (...values: number[]): Uint8Array => {
  const bytes = new Uint8Array(values.length * 4);
  const view = new DataView(bytes.buffer);
  for (const [index, value] of values.entries()) view.setUint32(index * 4, value, true);
  return bytes;
};

/** `vc-client verify`, as a separate process: exit status and what it printed. */
async function vcClientVerify(args: string[]): Promise<{ status: number; output: string }> {
  try {
    const { stdout, stderr } = await execFileAsync(process.execPath, ['packages/client/bin/vc-client.ts', 'verify', ...args], { cwd: REPOSITORY_ROOT });
    return { status: 0, output: `${stdout}${stderr}`.trim() };
  } catch (reason) {
    const failed = reason as { code?: number; stdout?: string; stderr?: string };
    return { status: failed.code ?? -1, output: `${failed.stdout ?? ''}${failed.stderr ?? ''}`.trim() };
  }
}

/** Runs the demo; throws if a step fails, an excluded custodian can read a share, or the result differs from the clear. */
export async function shamirDemo(): Promise<void> {
  console.log(bold('Veracruz-ts demo: a program chooses, from the data, who receives shares of a secret; the isolate narrows the rights to match'));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let pas: PasHandle | undefined;
  let server: RunningServer | undefined;
  const clients: VeracruzClient[] = [];
  try {
    step('Building the runtime bundle and the program (C with vc.h, to wasm32-wasip1)');
    const bundle = await buildRuntimeBundle();
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const program = await readFile(PROGRAM);
    for (const line of run(process.execPath, ['packages/tools/bin/vc-wc.ts', PROGRAM], 'vc-wc').trim().split('\n')) say(`vc-wc | ${line}`);
    say(`runtime ${relative(REPOSITORY_ROOT, bundle.path)}; ${relative(REPOSITORY_ROOT, PROGRAM)} (${program.length} bytes)`);

    step('A policy where every custodian may read every share: an upper bound, not the decision');
    const parties = await createParties(work, ['owner', ...CUSTODIANS] as const);
    const deployed = await startDemoPas(work);
    pas = deployed.pas;
    const programPath = join(work, 'shamir-narrowing.wasm');
    await writeFile(programPath, program);
    // vc-pgen numbers identities in order: the owner is 0, custodian-i is i.
    const { path: policyPath, text: policyText } = await writeDemoPolicy(work, deployed, bundle, [
      '-c', parties.owner.certificatePath, '-p', '/program/:w,/input/secret.dat:w,/input/params.dat:w,/output/receivers.json:r,/output/receivers.sig:r',
      ...CUSTODIANS.flatMap((name, index) => ['-c', parties[name].certificatePath, '-p', `/input/scores/${index + 1}:w,/output/:r,/program/:x`]),
      '-w', `${REMOTE_PROGRAM}=${programPath}`, '-p', '/input/:r,/output/:rw',
    ]);
    say(`policy ${relative(work, policyPath)}: owner uploads the secret; custodians 1-5 each upload a score and may read all of /output/`);

    step('Starting vc-server on the linux platform: launch, attest and certify the isolate');
    server = await startDemoServer(policyText, bundle, deployed.devKey, pas);
    say(`isolate pid ${server.isolatePid}, listening at ${server.url}`);
    const address = server.url;
    const connect = async (name: keyof typeof parties): Promise<VeracruzClient> => {
      const client = await VeracruzClient.connect({ policy: policyText, ...parties[name], address });
      clients.push(client);
      return client;
    };

    step(`The owner uploads the program, a secret and the parameters (k = ${K} receivers, threshold t = ${T}); each custodian its score`);
    const secret = randomBytes(32);
    const owner = await connect('owner');
    await owner.writeFile(REMOTE_PROGRAM, program);
    await owner.writeFile('/input/secret.dat', secret);
    await owner.writeFile('/input/params.dat', u32(K, T));
    const custodians = Object.fromEntries(await Promise.all(CUSTODIANS.map(async (name, index) => {
      const client = await connect(name);
      await client.writeFile(`/input/scores/${index + 1}`, u32(SCORES[name]));
      return [name, client] as const;
    }))) as Record<Custodian, VeracruzClient>;
    say(`scores: ${CUSTODIANS.map((name) => `${name} ${SCORES[name]}`).join(', ')}`);

    step('custodian-1 runs the program: it picks the receivers, writes their shares, narrows the rights and signs the list');
    const exitCode = await custodians['custodian-1'].execute(REMOTE_PROGRAM);
    if (exitCode !== 0) throw new Error(`the program exited ${exitCode}`);
    const receiversJson = await owner.readFile('/output/receivers.json');
    const receivers = (JSON.parse(new TextDecoder().decode(receiversJson)) as { receivers: number[] }).receivers;
    say(`exit code 0; /output/receivers.json: ${new TextDecoder().decode(receiversJson).trim()}`);
    const clearChoice = CUSTODIANS.map((name, index) => ({ id: index + 1, score: SCORES[name] }))
      .sort((a, b) => b.score - a.score || a.id - b.id).slice(0, K).map((entry) => entry.id);
    if (JSON.stringify(receivers) !== JSON.stringify(clearChoice)) throw new Error(`the program chose ${receivers}, the clear computation ${clearChoice}`);
    say(`the same choice as here in the clear: the ${K} best scores, ties to the lower id (${clearChoice.join(', ')})`);

    step('The rights in force, as every party can ask for them (request_rights)');
    const rights = await custodians['custodian-3'].rights();
    const changed = rights.narrowings.filter((narrowing) => narrowing.before !== narrowing.after);
    for (const narrowing of changed) {
      say(`narrowed by ${narrowing.program}: subject ${narrowing.subject >= 0x80000000 ? `program ${narrowing.subject - 0x80000000}` : narrowing.subject} ` +
        `on ${narrowing.path}: ${formatRights(narrowing.before)} -> ${formatRights(narrowing.after)}`);
    }
    if (changed.length === 0) throw new Error('no narrowing was recorded');
    say(`(and ${rights.narrowings.length - changed.length} more that changed nothing, such as a lock on writes for a subject that could not write there)`);

    step('Each chosen custodian reads its own share; an excluded one, and a chosen one reading another\'s, are refused');
    const shares: Uint8Array[] = [];
    for (const [index, name] of CUSTODIANS.entries()) {
      const id = index + 1;
      const path = `/output/shares/${id}`;
      try {
        const share = await custodians[name].readFile(path);
        if (!receivers.includes(id)) throw new Error(`${name} was excluded but read ${path}: the narrowing was not enforced`);
        shares.push(share);
        say(`${name} (chosen): read its share, ${share.length} bytes, x = ${share[0]}`);
      } catch (reason) {
        if (!(reason instanceof VeracruzError)) throw reason;
        if (receivers.includes(id)) throw reason;
        say(`${name} (excluded): refused, ${reason.message}`);
      }
    }
    const [first, second] = receivers;
    try {
      await custodians[CUSTODIANS[first! - 1]!].readFile(`/output/shares/${second}`);
      throw new Error(`custodian-${first} could read custodian-${second}'s share`);
    } catch (reason) {
      if (!(reason instanceof VeracruzError)) throw reason;
      say(`custodian-${first} reads custodian-${second}'s share: refused, ${reason.message}`);
    }
    const recovered = Buffer.from(combineShares(shares.slice(0, T)));
    if (!recovered.equals(secret)) throw new Error('two shares do not recombine to the secret');
    say(`any ${T} of the ${K} shares recombine, here in the clear, to the owner's secret (${recovered.toString('hex').slice(0, 16)}…)`);

    step('The list of receivers is signed by the isolate: checked offline with vc-client verify, by someone who never connected');
    const signaturePath = join(work, 'receivers.sig');
    const receiversPath = join(work, 'receivers.json');
    await writeFile(signaturePath, await owner.readFile('/output/receivers.sig'));
    await writeFile(receiversPath, receiversJson);
    const verified = await vcClientVerify(['--policy', policyPath, '--signature', signaturePath, receiversPath]);
    for (const line of verified.output.split('\n')) say(`vc-client verify | ${line}`);
    if (verified.status !== 0) throw new Error('vc-client verify refused the genuine list');
    await writeFile(receiversPath, new TextDecoder().decode(receiversJson).replace(String(receivers[0]), String(receivers[0] === 1 ? 3 : 1)));
    const forged = await vcClientVerify(['--policy', policyPath, '--signature', signaturePath, receiversPath]);
    say(`a list with one receiver changed: exit ${forged.status}, ${forged.output}`);
    if (forged.status !== 1) throw new Error('vc-client verify accepted a changed list');

    step('Shutting down');
    const ended = await shutDown(owner, server);
    server = undefined;
    say(ended);
    console.log(`\n${bold('Done.')}`);
  } finally {
    await tearDown({ clients, server, pas, work });
  }
}
