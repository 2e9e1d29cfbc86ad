// The demos users run (`npm run demo [-- NAME]`) run end to end here as real processes, so they
// cannot rot: each must exit 0 having checked its result against the computation in the clear.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { describe, it } from 'node:test';
import { REPOSITORY_ROOT } from '@veracruz-ts/server';

function demo(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['scripts/demo.ts', ...args], { cwd: REPOSITORY_ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('exit', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('npm run demo', () => {
  it('runs the default demo: four parties, the result checked in the clear', async () => {
    const { code, stdout, stderr } = await demo();
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /matches the sum computed here in the clear: 35\.00/);
    assert.match(stdout, /shop tries to read the advertiser's list: refused, \[permission_denied\]/);
  });

  it('runs the embedded demo: three C clients over wolfSSL verify the isolate and send readings; the position checked in the clear; refusals', async () => {
    const { code, stdout, stderr } = await demo('embedded');
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /device-1: verified the isolate: a linux runtime the policy allows, enforcing this policy/);
    assert.match(stdout, /matches the position computed here in the clear/);
    assert.match(stdout, /device-1 reads \/output\/position\.dat: refused, \[permission_denied\]/);
    assert.match(stdout, /a device whose certificate is not in the policy writes: refused, \[permission_denied\] .*certificate_unknown/);
    assert.match(stdout, /policy one byte different writes: refused, \[attestation_failed\] the isolate certificate binds policy [0-9a-f]{64}, not this policy/);
    assert.match(stdout, /vc-server exited \(0: /);
  });

  it('runs the limits demo: floods refused within the budget, data intact, the regression checked in the clear', async () => {
    const { code, stdout, stderr } = await demo('limits');
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /stdout-flood: \[limit_exceeded\] .* refused 1048576 more bytes of stdout/);
    assert.match(stdout, /memory-flood: \[limit_exceeded\] .* refused more program memory/);
    assert.match(stdout, /data-owner: read back its points, same sha256/);
    assert.match(stdout, /matches the regression computed here in the clear/);
  });

  it('runs the sealed demo: 512 MiB through a 64 MiB isolate, the hash checked in the clear, a flipped bit caught, nothing lost', async () => {
    const { code, stdout, stderr } = await demo('sealed');
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /the host's disk: one file, f\d+ \(not the file's name\)/);
    assert.match(stdout, /matches the SHA-256 computed here in the clear: [0-9a-f]{64}/);
    assert.match(stdout, /host: searched f\d+ for 8 pieces of 64 bytes of the plaintext .*: 0 found/);
    assert.match(stdout, /analyst: \[integrity_violation\] program \/program\/sha256\.wasm: the host forged sealed data of \/input\/data\.bin/);
    assert.match(stdout, /the same SHA-256 as before, and as computed here in the clear/);
  });

  it('runs the streaming demo: three sensors stream, the analyst follows the aggregate, the final line checked in the clear', async () => {
    const { code, stdout, stderr } = await demo('streaming');
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /explain \| Streams \(2\)/);
    assert.match(stdout, /sensor-1 tries to read \/input\/readings: refused, \[permission_denied\]/);
    // Lines arrive while the sensors are still sending: at least one before the first sensor closes.
    const firstLine = stdout.indexOf('analyst sees | count');
    const firstClose = stdout.search(/sensor-\d: sent \d+ readings/);
    assert.ok(firstLine >= 0 && firstClose >= 0 && firstLine < firstClose, stdout);
    assert.match(stdout, /analyst sees \| final {2}60000: /);
    assert.match(stdout, /exited 0; \/output\/aggregate ended after 15 lines/);
    assert.match(stdout, /matches the aggregate computed here in the clear over all 60000 readings/);
  });

  it('runs the shamir demo: the program chooses the receivers from the data, the excluded are refused, the signed list verifies offline', async () => {
    const { code, stdout, stderr } = await demo('shamir');
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /vc-wc \| uses the programs' ABI: veracruz_crypto_v1, veracruz_v1|vc-wc \| uses the programs' ABI: veracruz_v1, veracruz_crypto_v1/);
    assert.match(stdout, /the same choice as here in the clear: .* \(2, 4, 5\)/);
    assert.match(stdout, /narrowed by \/program\/shamir-narrowing\.wasm: subject 1 on \/output\/shares: r -> none/);
    assert.match(stdout, /custodian-1 \(excluded\): refused, \[permission_denied\] read \/output\/shares\/1: missing /);
    assert.match(stdout, /custodian-2 reads custodian-4's share: refused, \[permission_denied\]/);
    assert.match(stdout, /recombine, here in the clear, to the owner's secret/);
    assert.match(stdout, /vc-client verify \| verified: \/output\/receivers\.json \(\d+ bytes, SHA-256 [0-9a-f]{64}, file matches\)/);
    assert.match(stdout, /a list with one receiver changed: exit 1, vc-client verify: \[attestation_failed\] signed result: the file is not the one signed/);
  });

  it('runs the mapreduce demo: four mapper isolates push partials to a reducer, the coefficients checked in the clear, a rogue isolate refused', async () => {
    const { code, stdout, stderr } = await demo('mapreduce');
    assert.equal(code, 0, stderr + stdout);
    for (const hospital of [1, 2, 3, 4]) {
      assert.match(stdout, new RegExp(`hospital-${hospital}: verified mapper-${hospital}: .*certificate binds policy [0-9a-f]{16}… \\(mapper-${hospital}'s policy file\\)`));
      assert.match(stdout, new RegExp(`mapper-${hospital} log: dataflow: delivered /output/stats\\.dat to /input/stats/hospital-${hospital} `));
    }
    assert.match(stdout, /analyst: \/program\/reduce\.wasm exited 0 over 4 partials, 13000 rows/);
    assert.match(stdout, /matches the regression computed here in the clear over all 13000 rows/);
    assert.match(stdout, /hospital-1 connects to mapper-2 \(hospital-2's shard\): refused, \[permission_denied\]/);
    assert.match(stdout, /hospital-1 reads its own mapper's partial \/output\/stats\.dat: refused, \[permission_denied\]/);
    assert.match(stdout, /analyst reads \/input\/stats\/hospital-1 on the reducer: refused, \[permission_denied\]/);
    assert.match(stdout, /rogue-mapper log: dataflow: \/output\/stats\.dat to \/input\/stats\/hospital-5 at [\d.:]+, attempt 1 failed, giving up: \[permission_denied\] the peer refused this isolate: .*certificate unknown/i);
    assert.match(stdout, /the reducer's partial count stays 4, the coefficients the same/);
    assert.match(stdout, /reducer: vc-server exited \(0: /);
  });

  it('runs the fleet demo: a warm pool serves a regression checked in the clear; killed members detected and replaced; scaling; nothing left', async () => {
    const { code, stdout, stderr } = await demo('fleet');
    assert.equal(code, 0, stderr + stdout);
    assert.match(stdout, /pool 3 warm of 3/);
    assert.match(stdout, /ready \d+ ms after it was submitted/);
    assert.match(stdout, /analyst: 6 coefficients over 5000 rows, equal to the regression computed here in the clear/);
    assert.match(stdout, /audit lost: isolate audit \(member \S+, [\d.:]+\) died at \S+: the isolate exited unexpectedly \(signal SIGKILL\)/);
    assert.match(stdout, /auditor's SDK: \[unavailable\] the fleet at http:\/\/[\d.:]+ reports \(unauthenticated\) that computation audit lost its isolate audit at /);
    assert.match(stdout, /event: member \S+ died while warm \(its host \(vc-server warm, pid \d+\) ended: signal SIGKILL\); replacing it/);
    assert.match(stdout, /five warm members/);
    assert.match(stdout, /vc-fleet up exited 0; none of the \d+ member processes is left/);
  });

  it('refuses an unknown demo name with a usage error that lists the demos', async () => {
    const { code, stderr } = await demo('no-such-demo');
    assert.equal(code, 2);
    assert.match(stderr, /no demo named 'no-such-demo'/);
    assert.match(stderr, /intersection +four parties/);
    assert.match(stderr, /limits +programs/);
    assert.match(stderr, /mapreduce +four hospitals/);
    assert.match(stderr, /fleet +a warm pool/);
    assert.match(stderr, /sealed +512 MiB/);
    assert.match(stderr, /shamir +the policy as an upper bound/);
    assert.match(stderr, /streaming +three sensors/);
  });
});
