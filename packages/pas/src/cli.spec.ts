import assert from 'node:assert/strict';
import { chmod, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { createLinuxEvidence } from '@veracruz-ts/attestation/evidence';
import { linuxIsolate, runCli, startPasProcess, temporaryDirectory, writePublicKey } from './testing.ts';

const VECTORS = fileURLToPath(new URL('../../attestation/test-vectors/', import.meta.url));

describe('vc-pas CLI', () => {
  let workspace: Awaited<ReturnType<typeof temporaryDirectory>>;
  let dir: string;

  before(async () => {
    workspace = await temporaryDirectory();
    dir = join(workspace.dir, 'pas');
  });
  after(async () => workspace?.remove());

  it('init creates the CA (key 0600), the database and the configuration, and refuses to run twice', async () => {
    const result = await runCli(['init', '--dir', dir]);
    assert.equal(result.code, 0, result.stderr);
    assert.match(result.stdout, /CA certificate SHA-256 [0-9a-f]{64}: \S+\/ca\.pem, for vc-pgen --proxy-attestation-server-cert\n/);
    assert.ok(result.stdout.endsWith(`serve it with: npx vc-pas serve --dir ${dir}\n`), result.stdout);
    assert.equal((await stat(join(dir, 'ca.key'))).mode & 0o777, 0o600);
    assert.match(await readFile(join(dir, 'ca.pem'), 'utf8'), /^-----BEGIN CERTIFICATE-----/);
    assert.equal((await stat(join(dir, 'pas.db'))).isFile(), true);
    const config = JSON.parse(await readFile(join(dir, 'pas.json'), 'utf8')) as { sessionTtlSeconds: number; allowDebug: boolean };
    assert.equal(config.sessionTtlSeconds, 300);
    assert.equal(config.allowDebug, false);
    assert.doesNotMatch(result.stdout + result.stderr, /PRIVATE KEY/);

    const again = await runCli(['init', '--dir', dir]);
    assert.equal(again.code, 1);
    assert.match(again.stderr, /already a PAS/);
  });

  it('serve refuses a CA key that others can read', async () => {
    await chmod(join(dir, 'ca.key'), 0o644);
    try {
      const result = await runCli(['serve', '--dir', dir, '--listen', '127.0.0.1:0']);
      assert.equal(result.code, 1);
      assert.match(result.stderr, /accessible by group or others \(mode 644\); chmod 600 it/);
    } finally {
      await chmod(join(dir, 'ca.key'), 0o600);
    }
  });

  it('enroll, keys and unenroll manage development keys', async () => {
    const isolate = await linuxIsolate();
    const path = await writePublicKey(workspace.dir, isolate.devKey);
    const enrolled = await runCli(['enroll', '--dir', dir, '--name', 'host-a', path]);
    assert.equal(enrolled.code, 0, enrolled.stderr);
    assert.match(enrolled.stdout, /enrolled development key host-a \(key id [0-9a-f]{64}\)/);

    const duplicate = await runCli(['enroll', '--dir', dir, '--name', 'host-b', path]);
    assert.equal(duplicate.code, 1);
    assert.match(duplicate.stderr, /already enrolled as "host-a"/);

    const keys = JSON.parse((await runCli(['keys', '--dir', dir, '--json'])).stdout) as { name: string }[];
    assert.deepEqual(keys.map((key) => key.name), ['host-a']);

    const notAKey = await runCli(['enroll', '--dir', dir, '--name', 'bad', join(dir, 'ca.pem')]);
    assert.equal(notAKey.code, 1);
    assert.match(notAKey.stderr, /no PEM "PUBLIC KEY" block/);

    assert.equal((await runCli(['unenroll', '--dir', dir, '--name', 'host-a'])).code, 0);
    const missing = await runCli(['unenroll', '--dir', dir, '--name', 'host-a']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no development key named "host-a"/);
  });

  it('reference add, list and remove manage accepted and denied measurements', async () => {
    const full = 'cd'.repeat(48);
    assert.equal((await runCli(['reference', 'add', '--dir', dir, '--platform', 'nitro', '--measurement', full])).code, 0);
    assert.equal((await runCli(['reference', 'add', '--dir', dir, '--platform', 'SEV', '--measurement', `0x${'EF'.repeat(32)}`, '--deny'])).code, 0);
    const listed = JSON.parse((await runCli(['reference', 'list', '--dir', dir, '--json'])).stdout) as { platform: string; kind: string; measurement: string }[];
    assert.deepEqual(
      listed.map(({ platform, kind, measurement }) => [platform, kind, measurement]),
      [['nitro', 'accept', full], ['sev-snp', 'deny', 'ef'.repeat(32)]],
    );
    const nitroOnly = await runCli(['reference', 'list', '--dir', dir, '--platform', 'nitro']);
    assert.match(nitroOnly.stdout, /^nitro\taccept\t(cd)+\t/);
    assert.doesNotMatch(nitroOnly.stdout, /sev-snp/);

    const badHex = await runCli(['reference', 'add', '--dir', dir, '--platform', 'nitro', '--measurement', 'xyz']);
    assert.equal(badHex.code, 2, 'a malformed flag value is a usage error');
    assert.match(badHex.stderr, /^vc-pas: --measurement: measurement must be 64 or 96 hex digits .* \(see vc-pas --help\)\n$/);
    const badPlatform = await runCli(['reference', 'add', '--dir', dir, '--platform', 'vax', '--measurement', full]);
    assert.equal(badPlatform.code, 2);
    assert.match(badPlatform.stderr, /unknown platform "vax"/);
    const badAction = await runCli(['reference', 'frob', '--dir', dir]);
    assert.equal(badAction.code, 2);
    assert.equal(badAction.stderr, 'vc-pas: reference takes one action: add, remove or list, not "frob" (see vc-pas --help)\n');
    const noAction = await runCli(['reference', '--dir', dir]);
    assert.equal(noAction.code, 2);

    assert.equal((await runCli(['reference', 'remove', '--dir', dir, '--platform', 'nitro', '--measurement', full])).code, 0);
    const gone = await runCli(['reference', 'remove', '--dir', dir, '--platform', 'nitro', '--measurement', full]);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /no accept entry/);
  });

  it('issued lists nothing for a fresh PAS, as text and JSON', async () => {
    const text = await runCli(['issued', '--dir', dir]);
    assert.equal(text.code, 0);
    assert.equal(text.stdout, '');
    assert.deepEqual(JSON.parse((await runCli(['issued', '--dir', dir, '--json'])).stdout), []);
  });

  it('serve takes the Start limits as flags, over pas.json', async () => {
    const configPath = join(dir, 'pas.json');
    const original = await readFile(configPath, 'utf8');
    await writeFile(configPath, JSON.stringify({ ...(JSON.parse(original) as object), maxOpenSessions: 5 }));
    const pas = await startPasProcess(dir, ['--max-open-sessions', '1', '--start-rate-per-second', '0.5', '--start-burst', '10', '--start-rate-max-clients', '100']);
    try {
      assert.equal((await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' })).status, 201);
      const refused = await fetch(`${pas.url}/proxy/v1/Start`, { method: 'POST' });
      assert.equal(refused.status, 429);
      assert.match(refused.headers.get('retry-after') ?? '', /^(29\d|300)$/, 'until the one session expires');
      assert.match(((await refused.json()) as { detail: string }).detail, /^too many open sessions \(1, at most 1\)/);
    } finally {
      assert.equal(await pas.stop(), 0);
      await writeFile(configPath, original);
    }
    // Every log line of the service starts with an ISO 8601 time.
    const log = pas.log().trimEnd().split('\n');
    assert.ok(log.some((line) => /refusing Start: 1 sessions open \(maxOpenSessions 1\)/.test(line)), log.join('\n'));
    for (const line of log) assert.match(line, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z \S/, line);
    assert.match(log[log.length - 1]!, /Z vc-pas: SIGTERM, shutting down$/);
    for (const [flag, value] of [['--start-burst', '0'], ['--start-rate-per-second', 'fast'], ['--max-open-sessions', '1e3'], ['--start-rate-max-clients', '']]) {
      const bad = await runCli(['serve', '--dir', dir, '--listen', '127.0.0.1:0', flag as string, value as string]);
      assert.equal(bad.code, 2, bad.stderr);
      assert.match(bad.stderr, new RegExp(`${flag} ".*": it must be a positive`));
    }
    const notServe = await runCli(['issued', '--dir', dir, '--start-burst', '5']);
    assert.equal(notServe.code, 2);
    assert.match(notServe.stderr, /issued does not take --start-burst/);
  });

  it('reports usage errors with exit code 2, in one line pointing at --help', async () => {
    for (const args of [[], ['frobnicate'], ['init'], ['issued', '--dir', dir, '--bogus'], ['enroll', '--dir', dir, '--name', 'x']]) {
      const result = await runCli(args);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, /^vc-pas: .* \(see vc-pas --help\)\n$/);
      assert.equal(result.stdout, '');
    }
    assert.equal((await runCli(['issued', '--dir', dir, '--bogus'])).stderr, "vc-pas: unknown option '--bogus' (see vc-pas --help)\n");
    assert.equal((await runCli(['keys', '--dir'])).stderr, "vc-pas: option '--dir' needs a value (see vc-pas --help)\n");
    assert.equal((await runCli(['verify', '--platform', 'nitro', '--evidence', 'x', '--nonce', 'zz'])).code, 2);
    const missingDir = await runCli(['issued', '--dir', join(workspace.dir, 'nowhere')]);
    assert.equal(missingDir.code, 1);
    assert.match(missingDir.stderr, /does not exist; run vc-pas init/);
  });
});

describe('vc-pas --help and --version', () => {
  it('prints the version, and every option with its default', async () => {
    const { version } = JSON.parse(await readFile(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
    for (const flag of ['-V', '--version']) assert.equal((await runCli([flag])).stdout, `vc-pas ${version}\n`);
    for (const args of [['--help'], ['-h'], ['help'], ['serve', '--help']]) {
      const result = await runCli(args);
      assert.equal(result.code, 0, args.join(' '));
      assert.match(result.stdout, /^Usage:\n {2}vc-pas init --dir DIR\n/);
    }
    const flat = (await runCli(['--help'])).stdout.replace(/\s+/g, ' ');
    for (const flag of ['--dir', '--listen', '--max-open-sessions', '--start-rate-per-second', '--start-burst', '--start-rate-max-clients', '--name', '--platform', '--measurement', '--deny', '--json', '--evidence', '--at', '--nonce', '--csr-hash', '--endorsement', '--trust-anchor', '--allow-debug']) {
      const start = flat.indexOf(` ${flag} `, flat.indexOf('Options:'));
      assert.ok(start > 0, `${flag} is described`);
      assert.match(flat.slice(start, flat.indexOf(' --', start + flag.length + 2)), /Default: /, `${flag} states its default`);
    }
    assert.match(flat, /--listen HOST:PORT serve: where to listen; port 0 picks a free one\. Default: pas\.json's listen, 127\.0\.0\.1:3010 as init writes it\./);
  });
});

describe('vc-pas verify', () => {
  const nitroSample = join(VECTORS, 'nitro/yawn-nitro-attest.attestation.cose');
  const nitroAt = '2025-01-06T16:07:05.472Z';

  it('accepts the real Nitro sample at its verification time and prints the claims', async () => {
    const result = await runCli(['verify', '--platform', 'nitro', '--evidence', nitroSample, '--at', nitroAt]);
    assert.equal(result.code, 0, result.stderr);
    const claims = JSON.parse(result.stdout) as { platform: string; measurement: string; debug: boolean; insecure: boolean };
    assert.equal(claims.platform, 'nitro');
    assert.equal(claims.measurement.slice(0, 16), '8bb159f202bb95d6');
    assert.equal(claims.measurement.length, 96);
    assert.equal(claims.debug, false);
    assert.equal(claims.insecure, false);
  });

  it('refuses the tampered Nitro sample, the sample at another time, and a wrong nonce, with the reason', async () => {
    const tampered = await runCli(['verify', '--platform', 'nitro', '--evidence', join(VECTORS, 'nitro/yawn-nitro-attest.attestation.tampered.cose'), '--at', nitroAt]);
    assert.equal(tampered.code, 1);
    assert.match(tampered.stderr, /refused: .*signature does not verify/);
    const late = await runCli(['verify', '--platform', 'nitro', '--evidence', nitroSample, '--at', '2030-01-01T00:00:00Z']);
    assert.equal(late.code, 1);
    assert.match(late.stderr, /refused: .*certificate chain/);
    const nonce = await runCli(['verify', '--platform', 'nitro', '--evidence', nitroSample, '--at', nitroAt, '--nonce', '00'.repeat(32)]);
    assert.equal(nonce.code, 1);
    assert.match(nonce.stderr, /refused: .*nonce/);
  });

  it('accepts the real PSA, SEV-SNP, TDX and SGX samples with their endorsements, and refuses the debug TD', async () => {
    const cases: [string, string, string[], string | undefined, string][] = [
      ['psa', 'psa/psatoken-tfm-psa-2_0_0.sign1.cbor', ['psa/tfm-iak-public.pem'], undefined, '96a2ec56'],
      ['sev-snp', 'sev-snp/ms-milan_attestation_report.bin', ['sev-snp/ms-milan_vcek.pem'], '2026-03-01T00:00:00Z', '5feee30d'],
      ['tdx', 'tdx/dcap-qvl-tdx-quote.bin', ['tdx/dcap-qvl-tdx-quote.collateral.json'], '2025-07-01T00:00:00Z', '91eb2b44'],
      ['sgx', 'sgx/dcap-qvl-sgx-quote.bin', ['sgx/dcap-qvl-sgx-quote.collateral.json'], '2025-07-01T00:00:00Z', '33d8736d'],
    ];
    const results = await Promise.all(
      cases.map(([platform, evidence, endorsements, at]) =>
        runCli([
          'verify', '--platform', platform, '--evidence', join(VECTORS, evidence),
          ...endorsements.flatMap((file) => ['--endorsement', join(VECTORS, file)]),
          ...(at === undefined ? [] : ['--at', at]),
        ]),
      ),
    );
    for (const [index, [platform, , , , prefix]] of cases.entries()) {
      const result = results[index] as { code: number | null; stdout: string; stderr: string };
      assert.equal(result.code, 0, `${platform}: ${result.stderr}`);
      const claims = JSON.parse(result.stdout) as { platform: string; measurement: string };
      assert.equal(claims.platform, platform);
      assert.ok(claims.measurement.startsWith(prefix), `${platform} measurement ${claims.measurement}`);
    }
    const debugTd = await runCli(['verify', '--platform', 'tdx', '--evidence', join(VECTORS, 'tdx/trustee-tdx-quote-4.dat'), '--at', '2026-03-01T00:00:00Z']);
    assert.equal(debugTd.code, 1);
    assert.match(debugTd.stderr, /refused: .*debug evidence refused/);
  });

  it("accepts Veraison's PSA sample with its CoMID, and refuses a tampered copy and another instance's token", async () => {
    const comid = ['--endorsement', join(VECTORS, 'psa/veraison-services-comid-psa-ta.json')];
    const [ok, tampered, otherInstance] = await Promise.all([
      runCli(['verify', '--platform', 'psa', '--evidence', join(VECTORS, 'psa/tam-over-http-psa-evidence.cbor'), ...comid]),
      runCli(['verify', '--platform', 'psa', '--evidence', join(VECTORS, 'psa/tam-over-http-psa-evidence.tampered.cbor'), ...comid]),
      runCli(['verify', '--platform', 'psa', '--evidence', join(VECTORS, 'psa/evcli-psa-p2-token.cbor'), ...comid]),
    ]);
    assert.equal(ok.code, 0, ok.stderr);
    const claims = JSON.parse(ok.stdout) as { platform: string; measurement: string; details: { instanceId: string; endorsedBy: string } };
    assert.equal(claims.platform, 'psa');
    assert.equal(claims.measurement, 'a3a5e715f0cc574a73c3f9bebb6bc24f32ffd5b67b387244c2c909da779a1478');
    assert.equal(claims.details.instanceId, '01ceebae7b8927a3227e5303cf5e0f1f7b34bb542ad7250ac03fbcde36ec2f1508');
    assert.equal(claims.details.endorsedBy, 'endorsements[0] CoMID attester-verification-keys[0].verification-keys[0]');
    assert.equal(tampered.code, 1);
    assert.equal(tampered.stderr.trim(), 'vc-pas: refused: [attestation_failed] psa: COSE_Sign1: ES256 signature does not verify with the attestation key');
    assert.equal(otherInstance.code, 1);
    assert.match(otherInstance.stderr, /refused: \[attestation_failed\] psa: instance id 01a0a1a2a3\w+ matches none of the 1 endorsed attestation keys/);
  });

  it('reads base64 evidence and refuses debug documents unless --allow-debug', async () => {
    const sample = join(VECTORS, 'nitro/evervault-valid-attestation-doc.b64');
    const at = '2023-09-18T15:03:30.860Z';
    const refused = await runCli(['verify', '--platform', 'nitro', '--evidence', sample, '--at', at]);
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /debug evidence refused/);
    const allowed = await runCli(['verify', '--platform', 'nitro', '--evidence', sample, '--at', at, '--allow-debug']);
    assert.equal(allowed.code, 0, allowed.stderr);
    assert.equal((JSON.parse(allowed.stdout) as { debug: boolean }).debug, true);
  });

  it('verifies linux evidence against a development public key given as endorsement', async () => {
    const workspace = await temporaryDirectory();
    try {
      const isolate = await linuxIsolate();
      const nonce = new Uint8Array(32).fill(3);
      const evidencePath = join(workspace.dir, 'evidence.b64');
      await writeFile(evidencePath, Buffer.from(await isolate.evidence(nonce)).toString('base64'));
      const keyPath = await writePublicKey(workspace.dir, isolate.devKey);
      const ok = await runCli(['verify', '--platform', 'linux', '--evidence', evidencePath, '--endorsement', keyPath, '--nonce', '03'.repeat(32)]);
      assert.equal(ok.code, 0, ok.stderr);
      const claims = JSON.parse(ok.stdout) as { insecure: boolean; csrHash: string };
      assert.equal(claims.insecure, true);
      assert.equal(claims.csrHash, Buffer.from(isolate.identity.csrHash).toString('hex'));

      const stranger = await linuxIsolate();
      const wrongKey = await runCli(['verify', '--platform', 'linux', '--evidence', evidencePath, '--endorsement', await writePublicKey(workspace.dir, stranger.devKey, 'other.pem')]);
      assert.equal(wrongKey.code, 1);
      assert.match(wrongKey.stderr, /refused: .*not enrolled/);

      const debugPath = join(workspace.dir, 'debug.cbor');
      await writeFile(debugPath, await createLinuxEvidence({ devKey: isolate.devKey.privateKeyPem, nonce, measurement: isolate.measurement, csrHash: isolate.identity.csrHash, debug: true }));
      const debug = await runCli(['verify', '--platform', 'linux', '--evidence', debugPath, '--endorsement', keyPath]);
      assert.equal(debug.code, 1);
      assert.match(debug.stderr, /debug evidence refused/);
      assert.equal((await runCli(['verify', '--platform', 'linux', '--evidence', debugPath, '--endorsement', keyPath, '--allow-debug'])).code, 0);
    } finally {
      await workspace.remove();
    }
  });

  it('refuses a missing evidence file and a bad --at precisely', async () => {
    const missing = await runCli(['verify', '--platform', 'nitro', '--evidence', '/nonexistent/evidence']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /evidence \/nonexistent\/evidence cannot be read \(ENOENT\)/);
    const badTime = await runCli(['verify', '--platform', 'nitro', '--evidence', nitroSample, '--at', 'yesterday']);
    assert.equal(badTime.code, 2);
    assert.match(badTime.stderr, /not an ISO 8601 time/);
  });
});
