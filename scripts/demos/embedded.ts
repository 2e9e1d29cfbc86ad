// `npm run demo -- embedded`: small devices offload a computation without giving up privacy. Three
// microphones (device-1..3) each heard an audio event; each writes its position and arrival time to
// the isolate with the embedded C client (packages/embedded: C99 over wolfSSL, a TLS stack this
// project did not write), which checks the isolate itself before sending a byte: the chain to the
// policy's PAS CA, the runtime hash and the policy hash, from a header vc-pgen generated from the
// policy. The program (examples/programs/audio-triangulation) computes where and when the event
// happened; the controller, with the same C client, runs it and reads the position, which the demo
// checks against the true event and an independent solver in the clear. No device can read the
// position or another's reading; a device not in the policy, and a device holding a header of a
// policy one byte different, are refused before they send anything.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import { buildEmbeddedCli } from '@veracruz-ts/embedded/build';
import type { PasHandle } from '@veracruz-ts/pas';
import { createIdentity } from '@veracruz-ts/policy';
import { buildRuntimeBundle, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { audioEvent, deviceFiles } from '../../examples/generators/audio-events.ts';
import { decodeF64 } from '../../examples/generators/files.ts';
import { triangulate } from '../../examples/reference/audio-triangulation.ts';
import { createParties, startDemoPas, startDemoServer, tearDown, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const PROGRAM = join(REPOSITORY_ROOT, 'examples/build/wasm/audio-triangulation.wasm');
const REMOTE_PROGRAM = '/program/audio-triangulation.wasm';
const POSITION = '/output/position.dat';
const DEVICES = ['device-1', 'device-2', 'device-3'] as const;
const PARTIES = [...DEVICES, 'controller', 'program-provider'] as const;
type Party = (typeof PARTIES)[number];

const { step, say, short } = narrator(8);

/** One run of the embedded client's CLI: its exit status, stdout and stderr. */
interface CliRun {
  status: number | null;
  stdout: Buffer;
  stderr: string;
}

export async function embeddedDemo(): Promise<void> {
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let pas: PasHandle | undefined;
  let server: RunningServer | undefined;
  try {
    step('Building the runtime bundle and the triangulation program (C to wasm32-wasip1)');
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const bundle = await buildRuntimeBundle();
    say(`runtime ${short(bundle.measurement)} (its SHA-256 is the policy's runtime hash)`);

    step('Identities, the proxy attestation service, and a policy (vc-pgen)');
    const parties = await createParties(work, PARTIES);
    const deployed = await startDemoPas(work);
    pas = deployed.pas;
    const { path: policyPath, text: policyText } = await writeDemoPolicy(work, deployed, bundle, [
      ...DEVICES.flatMap((device, index) => ['-c', parties[device].certificatePath, '-p', `/input/device-${index + 1}.dat:w`]),
      '-c', parties.controller.certificatePath, '-p', `${REMOTE_PROGRAM}:x,${POSITION}:r`,
      '-c', parties['program-provider'].certificatePath, '-p', '/program/:w',
      '-w', `${REMOTE_PROGRAM}=${PROGRAM}`, '-p', '/input/:r,/output/:w',
    ]);
    say(`each device may write only its own /input/device-N.dat; the controller runs the program and reads ${POSITION}`);
    say(`policy hash ${short(createHash('sha256').update(policyText).digest('hex'))}`);
    server = await startDemoServer(policyText, bundle, deployed.devKey, pas);
    const address = server.url;
    say(`vc-server at ${address}, isolate attested and certified`);

    step('A header of the policy\'s facts for each device (vc-pgen header), and the C client built with it');
    const clients = {} as Record<Exclude<Party, 'program-provider'>, string>;
    for (const [id, party] of PARTIES.entries()) {
      if (party === 'program-provider') continue;
      const header = join(work, `${party}.h`);
      run(process.execPath, ['packages/tools/bin/vc-pgen.ts', 'header', policyPath, '--identity', String(id), '-o', header], 'vc-pgen header');
      clients[party] = await buildEmbeddedCli({ policyHeader: header, outDir: join(work, 'build', party) });
    }
    say('vc_policy_facts: the policy hash, the PAS CA (DER), the runtime hash, the server, the ciphersuite, the device\'s identity');
    say('the client: C99, wolfSSL (TLS 1.3), buffers sized at build time, reads and writes in 4 KiB chunks');
    // Asynchronous: vc-server runs in this process, and must go on accepting while a client runs.
    const cli = (party: Exclude<Party, 'program-provider'> | 'stranger', args: string[], input?: Uint8Array, binary = clients[party === 'stranger' ? 'device-1' : party]): Promise<CliRun> => {
      const identity = join(work, party);
      const child = spawn(binary, ['--cert', `${identity}.crt`, '--key', `${identity}.key`, '--address', address, ...args]);
      const stdout: Buffer[] = [];
      const stderr: Buffer[] = [];
      child.stdout.on('data', (chunk: Buffer) => stdout.push(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.push(chunk));
      child.stdin.end(input);
      return new Promise((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (status) => resolve({ status, stdout: Buffer.concat(stdout), stderr: Buffer.concat(stderr).toString('utf8') }));
      });
    };
    const must = async (party: Exclude<Party, 'program-provider'>, args: string[], input?: Uint8Array): Promise<CliRun> => {
      const result = await cli(party, args, input);
      if (result.status !== 0) throw new Error(`vc-embedded ${args[0]} as ${party} failed (${result.status}): ${result.stderr}`);
      return result;
    };

    step('Each device verifies the isolate itself, then writes its reading');
    const event = audioEvent({ seed: 2026 });
    const files = deviceFiles(event.devices);
    for (const [index, device] of DEVICES.entries()) {
      const remote = `/input/device-${index + 1}.dat`;
      const verbose = await must(device, ['--verbose', 'write', remote, '-'], files[remote]);
      const checked = verbose.stderr.split('\n').filter((line) => /verified|chain|runtime|policy/i.test(line)).slice(0, 3);
      for (const line of checked) say(`${device}: ${line.replace(/^vc-embedded: /, '')}`);
      const reading = event.devices[index]!;
      say(`${device}: wrote (${reading.x.toFixed(2)} m, ${reading.y.toFixed(2)} m) heard at ${reading.t.toFixed(6)} s`);
    }

    step('The program provider uploads the program (TypeScript SDK); the controller runs it and reads the position');
    const program = await readFile(PROGRAM);
    // A file whose hash the policy fixes is written in one message: a program comes from a machine, not a device.
    const provider = await VeracruzClient.connect({ policy: policyText, ...parties['program-provider'], address });
    await provider.writeFile(REMOTE_PROGRAM, program);
    await provider.close();
    say(`program-provider: uploaded ${program.length} bytes (the policy fixes its hash)`);
    const exit = (await must('controller', ['run', REMOTE_PROGRAM])).stdout.toString('utf8').trim();
    if (exit !== '0') throw new Error(`the program exited ${exit}`);
    const [x, y, t0] = decodeF64((await must('controller', ['read', POSITION])).stdout);
    say(`isolate: the event was at (${x!.toFixed(3)} m, ${y!.toFixed(3)} m), made at ${t0!.toFixed(6)} s`);

    step('Checking it in the clear: the true event, and an independent solver');
    const clear = triangulate(event.devices);
    if (clear === undefined) throw new Error('the reference solver found no position');
    const off = Math.hypot(x! - event.source.x, y! - event.source.y);
    const offReference = Math.hypot(x! - clear.x, y! - clear.y);
    if (!(off < 1e-6 && offReference < 1e-6 && Math.abs(t0! - event.source.t0) < 1e-6)) {
      throw new Error(`the isolate's position is ${off} m from the true event and ${offReference} m from the reference solver`);
    }
    say(`true event (${event.source.x.toFixed(3)} m, ${event.source.y.toFixed(3)} m) at ${event.source.t0.toFixed(6)} s`);
    say(`matches the position computed here in the clear (${off.toExponential(1)} m from the true event, ${offReference.toExponential(1)} m from the reference solver)`);

    step('Refusals: what a device may not read, a device not in the policy, a policy one byte different');
    const refused = (what: string, result: CliRun, pattern: RegExp): void => {
      if (result.status !== 1 || !pattern.test(result.stderr)) throw new Error(`${what}: expected a refusal matching ${pattern}, got ${result.status}: ${result.stderr}`);
      say(`${what}: refused, ${result.stderr.trim().replace(/^vc-embedded: /, '')}`);
    };
    refused(`device-1 reads ${POSITION}`, await cli('device-1', ['read', POSITION]), /permission_denied/);
    refused('device-1 reads device-2\'s reading', await cli('device-1', ['read', '/input/device-2.dat']), /permission_denied/);
    const stranger = await createIdentity('stranger');
    await writeFile(join(work, 'stranger.crt'), stranger.certificatePem);
    await writeFile(join(work, 'stranger.key'), stranger.privateKeyPem, { mode: 0o600 });
    // A client built for no identity in particular: the isolate itself refuses the stranger.
    const anyHeader = join(work, 'any-device.h');
    run(process.execPath, ['packages/tools/bin/vc-pgen.ts', 'header', policyPath, '-o', anyHeader], 'vc-pgen header');
    const anyClient = await buildEmbeddedCli({ policyHeader: anyHeader, outDir: join(work, 'build', 'any-device') });
    refused('a device whose certificate is not in the policy writes', await cli('stranger', ['write', '/input/device-1.dat', '-'], new Uint8Array(24), anyClient), /permission_denied.*certificate_unknown/);
    const edited = policyText.replace('"debug": false', '"debug": false ');
    const editedPath = join(work, 'edited.json');
    await writeFile(editedPath, edited);
    const editedHeader = join(work, 'edited.h');
    run(process.execPath, ['packages/tools/bin/vc-pgen.ts', 'header', editedPath, '--identity', '0', '-o', editedHeader], 'vc-pgen header');
    const editedClient = await buildEmbeddedCli({ policyHeader: editedHeader, outDir: join(work, 'build', 'edited') });
    refused('device-1 with the header of a policy one byte different writes', await cli('device-1', ['write', '/input/device-1.dat', '-'], new Uint8Array(24), editedClient), /attestation_failed.*binds policy/);
    const again = decodeF64((await must('controller', ['read', POSITION])).stdout);
    if (again[0] !== x) throw new Error('the position changed');
    say('nothing of the refused sessions was accepted: the inputs and the position are as they were');

    step('The controller shuts the computation down');
    await must('controller', ['shutdown']);
    const ended = await server.exited;
    say(`vc-server exited (${ended.code}: ${ended.reason})`);
    server = undefined;
  } finally {
    await tearDown({ server, pas, work });
  }
}
