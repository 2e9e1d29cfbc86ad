// Connection churn must leave nothing behind: plain TCP connections dropped in several ways and full
// TLS sessions, through vc-server into the isolate, and afterwards the relay holds no session and
// neither process has grown beyond a margin. (The soak benchmark, `npm run bench -- soak`, does ten
// times as many and reports the figures.)
//
// Memory is resident memory (VmRSS) after a memory-reducing full collection: the isolate runs one
// itself once it has had no session for a second (it is started with --expose-gc), so the test waits
// for that; this process (vc-server, the PAS and the clients) exposes its collector and runs one.
// Before the isolate shared one TLS context between its sessions and collected when idle, this churn
// grew it by 77 MiB; now by a few MiB.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { RunningServer } from '@veracruz-ts/server';
import { fullCollector, pool, residentMiB, tcpChurn } from '@veracruz-ts/server/testing';
import { connect, e2ePolicy, party, type Party, startComputation, startTestPas, type TestPas } from './harness.ts';

const TCP_CONNECTIONS = 2000;
const TLS_SESSIONS = 200;
/**
 * Generous: the isolate grew by 2.5-6.7 MiB in this test (three runs); with a TLS context per session
 * and no idle collection by 77 MiB, with either fix alone by 41 (context per session) or 32 MiB.
 */
const ISOLATE_MARGIN_MIB = 24;
/** Wider: this process also runs the PAS and the clients (measured 6-7 MiB). */
const HOST_MARGIN_MIB = 48;
/** The isolate collects once idle for a second (Isolate's IDLE_COLLECT_MS); this leaves a margin. */
const ISOLATE_IDLE_WAIT_MS = 2500;

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('connection churn through vc-server leaves nothing behind', { timeout: 120_000 }, () => {
  let pas: TestPas;
  let alice: Party;
  let policy: string;
  let server: RunningServer;
  const gc = fullCollector();

  before(async () => {
    pas = await startTestPas();
    alice = await party('alice', [{ file_name: '/input/', rights: RIGHTS_WRITE }, { file_name: '/output/', rights: RIGHTS_READ }]);
    policy = await e2ePolicy(pas, { parties: [alice] });
    server = await startComputation(policy, pas);
  });

  after(async () => {
    await server?.close();
    await pas?.close();
  });

  async function churn(tcp: number, tls: number): Promise<void> {
    const separator = server.url.lastIndexOf(':');
    await pool(tcp, 32, (index) => tcpChurn(server.url.slice(0, separator), Number(server.url.slice(separator + 1)), index));
    await pool(tls, 4, async () => {
      const client = await connect(server, policy, alice);
      await client.close();
    });
    for (let waited = 0; server.stats().sessions > 0; waited += 50) {
      assert.ok(waited < 20_000, `vc-server still holds ${server.stats().sessions} sessions 20 s after the churn`);
      await delay(50);
    }
  }

  async function settled(): Promise<{ isolate: number; host: number }> {
    await delay(ISOLATE_IDLE_WAIT_MS);
    gc();
    return { isolate: await residentMiB(server.isolatePid!), host: await residentMiB(process.pid) };
  }

  it(`${TCP_CONNECTIONS} dropped TCP connections and ${TLS_SESSIONS} TLS sessions: bounded memory, no session held, still serving`, async (t) => {
    assert.ok(server.isolatePid !== undefined);
    // A warm-up round first: code compiled and pools filled on first use are not growth.
    await churn(200, 20);
    const base = await settled();
    await churn(TCP_CONNECTIONS, TLS_SESSIONS);
    const end = await settled();

    const stats = server.stats();
    assert.deepEqual(
      { sessions: stats.sessions, queuedToIsolate: stats.queuedToIsolate, inFlightToIsolate: stats.inFlightToIsolate, bufferedToClients: stats.bufferedToClients },
      { sessions: 0, queuedToIsolate: 0, inFlightToIsolate: 0, bufferedToClients: 0 },
    );
    const isolateGrowth = end.isolate - base.isolate;
    const hostGrowth = end.host - base.host;
    t.diagnostic(`isolate ${base.isolate.toFixed(1)} -> ${end.isolate.toFixed(1)} MiB, vc-server's process ${base.host.toFixed(1)} -> ${end.host.toFixed(1)} MiB`);
    assert.ok(isolateGrowth < ISOLATE_MARGIN_MIB, `the isolate grew by ${isolateGrowth.toFixed(1)} MiB (${base.isolate.toFixed(1)} -> ${end.isolate.toFixed(1)})`);
    assert.ok(hostGrowth < HOST_MARGIN_MIB, `vc-server's process grew by ${hostGrowth.toFixed(1)} MiB (${base.host.toFixed(1)} -> ${end.host.toFixed(1)})`);

    // And the isolate still serves.
    const client = await connect(server, policy, alice);
    await client.writeFile('/input/after-churn', new TextEncoder().encode('still here'));
    await client.close();
  });
});
