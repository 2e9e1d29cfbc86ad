// The default demo (`npm run demo`): a whole multi-party computation on this machine, step by step.
//
// An advertiser knows which customers saw an advertisement; a shop knows what its customers spent.
// Neither will show its list to the other, but both agree that an analyst may learn one number:
// how much the customers who saw the advertisement spent. A program provider supplies the program
// (examples/programs/intersection-set-sum). All four agree on a policy; the computation runs in an
// isolate (here the `linux` development platform: a separate process, attested by a key on this
// host that the proxy attestation service was told to trust). Each party checks the isolate before
// sending anything. The host in the middle relays only ciphertext.
import { createHash } from 'node:crypto';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { VeracruzClient } from '@veracruz-ts/client';
import type { PasHandle } from '@veracruz-ts/pas';
import { VeracruzError } from '@veracruz-ts/core';
import { buildRuntimeBundle, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { createParties, shutDown, startDemoPas, startDemoServer, tearDown, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const PROGRAM = join(REPOSITORY_ROOT, 'examples/build/wasm/intersection-set-sum.wasm');
const REMOTE_PROGRAM = '/program/intersection-set-sum.wasm';
const VIEWERS_PATH = '/input/intersection-advertisement-viewer.dat';
const CUSTOMERS_PATH = '/input/intersection-customer.dat';
const RESULT_PATH = '/output/intersection-set-sum.dat';

// The parties' secrets: small enough to read, so the result can be checked by eye.
const VIEWER_IDS = [101n, 103n, 105n, 107n, 109n];
const CUSTOMERS: [bigint, number][] = [[101n, 10.5], [102n, 99], [103n, 20.25], [108n, 5], [109n, 4.25]];

const { bold, step, say, short } = narrator(9);

function encodeViewers(ids: readonly bigint[]): Uint8Array {
  const bytes = new Uint8Array(ids.length * 8);
  const view = new DataView(bytes.buffer);
  ids.forEach((id, index) => {
    view.setBigUint64(index * 8, id, true);
  });
  return bytes;
}

function encodeCustomers(customers: readonly [bigint, number][]): Uint8Array {
  const bytes = new Uint8Array(customers.length * 16);
  const view = new DataView(bytes.buffer);
  customers.forEach(([id, spend], index) => {
    view.setBigUint64(index * 16, id, true);
    view.setFloat64(index * 16 + 8, spend, true);
  });
  return bytes;
}

/** Runs the demo; throws if any step fails or the result differs from the computation in the clear. */
export async function intersectionDemo(): Promise<void> {
  console.log(bold('Veracruz-ts demo: the intersection set sum of two parties\' secrets, computed in an attested isolate'));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let pas: PasHandle | undefined;
  let server: RunningServer | undefined;
  try {
    step('Building the trusted runtime bundle (its SHA-256 is the linux runtime measurement)');
    const bundle = await buildRuntimeBundle();
    say(`${bundle.rebuilt ? 'built' : 'up to date'}: ${relative(REPOSITORY_ROOT, bundle.path)}`);
    say(`runtime hash ${bundle.measurement}`);

    step('Building the example programs (C to wasm32-wasip1)');
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const program = await readFile(PROGRAM);
    say(`${relative(REPOSITORY_ROOT, PROGRAM)}: ${program.length} bytes, sha256 ${short(createHash('sha256').update(program).digest('hex'))}`);

    step('Creating an identity (key pair + self-signed certificate) for each party');
    const names = ['program-provider', 'advertiser', 'shop', 'analyst'] as const;
    const parties = await createParties(work, names);
    say(names.join(', '));

    step('Starting the proxy attestation service (vc-pas) and enrolling this host\'s development key');
    const deployed = await startDemoPas(work);
    pas = deployed.pas;
    const { devKey } = deployed;
    say(`vc-pas at ${pas.url} (SQLite in a temporary directory); enrolled key ${short(deployed.keyId)}`);
    say('linux evidence is for development: the PAS marks it insecure');

    step('Agreeing on a policy (vc-pgen): who may write, execute and read what');
    const { text: policyText } = await writeDemoPolicy(work, deployed, bundle, [
      '-c', join(work, 'program-provider.crt'), '-p', '/program/:w',
      '-c', join(work, 'advertiser.crt'), '-p', `${VIEWERS_PATH}:w`,
      '-c', join(work, 'shop.crt'), '-p', `${CUSTOMERS_PATH}:w`,
      '-c', join(work, 'analyst.crt'), '-p', '/output/:r,/program/:x',
      '-w', `${REMOTE_PROGRAM}=${PROGRAM}`, '-p', '/input/:r,/output/:w',
    ]);
    const policyHash = createHash('sha256').update(policyText).digest('hex');
    say(`program-provider  /program/ w          advertiser  ${VIEWERS_PATH} w`);
    say(`analyst           /output/ r, /program/ x   shop  ${CUSTOMERS_PATH} w`);
    say(`program ${REMOTE_PROGRAM} (hash fixed by the policy) reads /input/, writes /output/`);
    say(`policy hash ${policyHash}`);

    step('Starting vc-server on the linux platform: launch, attest and certify the isolate');
    server = await startDemoServer(policyText, bundle, devKey, pas);
    say(`isolate pid ${server.isolatePid}, measured ${short(server.measurement)}, certified by the PAS`);
    say(`listening at ${server.url} (relays TLS bytes only)`);
    const address = server.url;

    const connect = async (name: (typeof names)[number]): Promise<VeracruzClient> => {
      const client = await VeracruzClient.connect({ policy: policyText, ...parties[name], address });
      say(`${name}: isolate verified (chain to the policy's PAS CA, runtime hash ${short(client.attestation.runtimeHash)}, ` +
        `policy hash ${short(client.attestation.policyHash)})`);
      return client;
    };

    step('Provisioning: each party connects, checks the isolate, then sends its secret');
    const provider = await connect('program-provider');
    await provider.writeFile(REMOTE_PROGRAM, program);
    say(`program-provider: uploaded ${REMOTE_PROGRAM}`);
    const [advertiser, shop] = await Promise.all([connect('advertiser'), connect('shop')]);
    await Promise.all([
      advertiser.writeFile(VIEWERS_PATH, encodeViewers(VIEWER_IDS)),
      shop.writeFile(CUSTOMERS_PATH, encodeCustomers(CUSTOMERS)),
    ]);
    say(`advertiser: uploaded ${VIEWER_IDS.length} viewer ids   (${VIEWER_IDS.join(', ')})`);
    say(`shop: uploaded ${CUSTOMERS.length} customers        (${CUSTOMERS.map(([id, spend]) => `${id}: ${spend.toFixed(2)}`).join(', ')})`);
    try {
      await shop.readFile(VIEWERS_PATH);
      throw new Error('the shop could read the advertiser\'s list: the policy was not enforced');
    } catch (reason) {
      if (!(reason instanceof VeracruzError)) throw reason;
      say(`shop tries to read the advertiser's list: refused, ${reason.message}`);
    }
    await Promise.all([provider.close(), advertiser.close(), shop.close()]);

    step('Computing: the analyst runs the program and reads the one number it may see');
    const analyst = await connect('analyst');
    const exitCode = await analyst.execute(REMOTE_PROGRAM);
    say(`analyst: executed ${REMOTE_PROGRAM}, exit code ${exitCode}`);
    const resultBytes = await analyst.readFile(RESULT_PATH);
    const result = new DataView(resultBytes.buffer, resultBytes.byteOffset, resultBytes.byteLength).getFloat64(0, true);
    const viewers = new Set(VIEWER_IDS);
    const expected = CUSTOMERS.filter(([id]) => viewers.has(id)).reduce((sum, [, spend]) => sum + spend, 0);
    say(`analyst: read ${RESULT_PATH} = ${bold(result.toFixed(2))} (spend of customers who saw the advertisement)`);
    if (Math.abs(result - expected) > 1e-9) throw new Error(`expected ${expected}, the isolate computed ${result}`);
    say(`matches the sum computed here in the clear: ${expected.toFixed(2)}`);

    step('Shutting down: any party may end the computation');
    const ended = await shutDown(analyst, server);
    await analyst.close();
    server = undefined;
    say(`analyst requested shutdown; ${ended}`);
    console.log(`\n${bold('Done.')} Try it by hand: packages/client/README.md shows the same steps with vc-client.`);
  } finally {
    await tearDown({ server, pas, work });
  }
}

