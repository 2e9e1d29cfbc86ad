// `npm run demo -- streaming`: live aggregation over streams. Three sensors each append their
// readings to one input stream, /input/readings, while the program (examples/programs/sensor-aggregation)
// already runs on it: its reads wait for data, and it reports every 4096 readings on the output stream
// /output/aggregate, which the analyst follows as it grows. The sensors may only write (append to)
// the input; none of them can read it, so no sensor sees another's readings. When the last sensor has
// closed the stream, the program reaches end of file and writes its final line; the demo checks that
// line against the same statistics computed here in the clear over all three sensors' readings.
import { once } from 'node:events';
import { mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type StreamFollower, VeracruzClient } from '@veracruz-ts/client';
import { VeracruzError } from '@veracruz-ts/core';
import type { PasHandle } from '@veracruz-ts/pas';
import { buildRuntimeBundle, REPOSITORY_ROOT, type RunningServer } from '@veracruz-ts/server';
import { encodeF64 } from '../../examples/generators/files.ts';
import { SENSOR_COUNT, sensorReadings } from '../../examples/generators/sensor-readings.ts';
import { aggregateReadings, type SensorAggregate } from '../../examples/reference/sensor-aggregation.ts';
import { createParties, shutDown, startDemoPas, startDemoServer, tearDown, writeDemoPolicy } from './deployment.ts';
import { narrator, run } from './narration.ts';

const PROGRAM = join(REPOSITORY_ROOT, 'examples/build/wasm/sensor-aggregation.wasm');
const REMOTE_PROGRAM = '/program/sensor-aggregation.wasm';
const READINGS = '/input/readings';
const AGGREGATE = '/output/aggregate';
/** Readings per sensor, sent in bursts with a pause between, as a sensor would. */
const READINGS_PER_SENSOR = 20_000;
const BURST = 2_000;
const PAUSE_MS = 40;

/** One per sensor the generator draws readings for (SENSOR_COUNT). */
const SENSORS = ['sensor-1', 'sensor-2', 'sensor-3'] as const;
type Sensor = (typeof SENSORS)[number];

const { bold, step, say, short } = narrator(8);

/** One line the program writes on /output/aggregate. */
type AggregateLine = SensorAggregate & { final: boolean };

/** Yields the complete lines of a followed stream as they arrive. */
async function* lines(follower: StreamFollower): AsyncGenerator<string> {
  let pending = '';
  const decoder = new TextDecoder();
  for await (const part of follower as AsyncIterable<Uint8Array>) {
    pending += decoder.decode(part, { stream: true });
    const complete = pending.split('\n');
    pending = complete.pop()!;
    yield* complete;
  }
  if (pending !== '') throw new Error(`${AGGREGATE} ended inside a line`);
}

function describeLine(line: AggregateLine): string {
  const statistics = line.mean === null || line.variance === null ? 'no readings yet'
    : `mean ${line.mean.toFixed(4)} °C, variance ${line.variance.toFixed(4)}`;
  return `${line.final ? 'final' : 'count'} ${String(line.count).padStart(6)}: ${statistics}, under ${line.under}, over ${line.over}`;
}

function sameAggregate(actual: AggregateLine, expected: SensorAggregate): string | undefined {
  const close = (a: number | null, b: number | null): boolean =>
    a !== null && b !== null ? Math.abs(a - b) <= 1e-9 * Math.max(1, Math.abs(b)) : a === b;
  const counts = (line: SensorAggregate): string => JSON.stringify([line.count, line.invalid, line.under, line.histogram, line.over]);
  if (counts(actual) !== counts(expected)) return `counts ${counts(actual)}, expected ${counts(expected)}`;
  if (!close(actual.mean, expected.mean)) return `mean ${actual.mean}, expected ${expected.mean}`;
  if (!close(actual.variance, expected.variance)) return `variance ${actual.variance}, expected ${expected.variance}`;
  return undefined;
}

/** Runs the demo; throws if a step fails, a sensor can read the stream, or the result differs from the clear. */
export async function streamingDemo(): Promise<void> {
  console.log(bold('Veracruz-ts demo: three sensors stream readings into an attested isolate; an analyst follows the live aggregate'));
  const work = await mkdtemp(join(tmpdir(), 'veracruz-demo-'));
  let pas: PasHandle | undefined;
  let server: RunningServer | undefined;
  const clients: VeracruzClient[] = [];
  try {
    if (SENSORS.length !== SENSOR_COUNT) throw new Error(`the generator draws readings for ${SENSOR_COUNT} sensors, the demo has ${SENSORS.length}`);
    step('Building the runtime bundle and the programs (C to wasm32-wasip1)');
    const bundle = await buildRuntimeBundle();
    run(process.execPath, ['examples/build.ts'], 'building the examples');
    const program = await readFile(PROGRAM);
    say(`runtime ${relative(REPOSITORY_ROOT, bundle.path)}; ${relative(REPOSITORY_ROOT, PROGRAM)} (${program.length} bytes)`);

    step('Identities, the proxy attestation service, and a policy with two streams (vc-pgen --stream)');
    const parties = await createParties(work, ['program-provider', ...SENSORS, 'analyst'] as const);
    const deployed = await startDemoPas(work);
    pas = deployed.pas;
    const programPath = join(work, 'sensor-aggregation.wasm');
    await writeFile(programPath, program);
    const { path: policyPath, text: policyText } = await writeDemoPolicy(work, deployed, bundle, [
      '-c', parties['program-provider'].certificatePath, '-p', '/program/:w',
      ...SENSORS.flatMap((sensor) => ['-c', parties[sensor].certificatePath, '-p', `${READINGS}:w`]),
      '-c', parties.analyst.certificatePath, '-p', '/output/:r,/program/:x',
      '-w', `${REMOTE_PROGRAM}=${programPath}`, '-p', '/input/:r,/output/:w',
      '--stream', `${READINGS},max_buffered_bytes=1048576`, '--stream', AGGREGATE,
      '--limits', 'timeout_ms=120000',
    ]);
    const explained = run(process.execPath, ['packages/tools/bin/vc-pgen.ts', 'explain', policyPath], 'vc-pgen explain').split('\n');
    const streamsAt = explained.findIndex((line) => line.startsWith('Streams ('));
    if (streamsAt < 0) throw new Error('vc-pgen explain lists no streams');
    const streamsEnd = explained.indexOf('', streamsAt);
    for (const line of explained.slice(streamsAt, streamsEnd < 0 ? undefined : streamsEnd)) say(`explain | ${line}`);
    say(`each sensor: ${READINGS} w (append only what it measures; it cannot read the stream)`);
    say(`analyst: ${REMOTE_PROGRAM} x, /output/ r; the program: /input/ r, /output/ w`);

    step('Starting vc-server on the linux platform: launch, attest and certify the isolate');
    server = await startDemoServer(policyText, bundle, deployed.devKey, pas);
    say(`isolate pid ${server.isolatePid}, measured ${short(server.measurement)}, listening at ${server.url}`);
    const address = server.url;
    const connect = async (name: keyof typeof parties): Promise<VeracruzClient> => {
      const client = await VeracruzClient.connect({ policy: policyText, ...parties[name], address });
      clients.push(client);
      return client;
    };

    step('The program provider uploads the program');
    const provider = await connect('program-provider');
    await provider.writeFile(REMOTE_PROGRAM, program);
    await provider.close();
    say(`program-provider: uploaded ${REMOTE_PROGRAM} (its hash is fixed by the policy)`);

    step('The analyst starts the program on one connection and follows the aggregate on another');
    const [runner, watcher] = await Promise.all([connect('analyst'), connect('analyst')]);
    const execution = runner.execute(REMOTE_PROGRAM);
    execution.catch(() => {});
    const received: AggregateLine[] = [];
    const following = (async () => {
      for await (const text of lines(watcher.followStream(AGGREGATE))) {
        const line = JSON.parse(text) as AggregateLine;
        received.push(line);
        say(`analyst sees | ${describeLine(line)}`);
      }
    })();
    following.catch(() => {});
    say(`analyst: running ${REMOTE_PROGRAM}; it waits on ${READINGS} until the sensors send`);

    step('Three sensors stream their readings at once; none of them can read the stream');
    const sensors = await Promise.all(SENSORS.map((sensor) => connect(sensor)));
    try {
      await sensors[0]!.readFile(READINGS);
      throw new Error(`${SENSORS[0]} could read ${READINGS}: the policy was not enforced`);
    } catch (reason) {
      if (!(reason instanceof VeracruzError)) throw reason;
      say(`${SENSORS[0]} tries to read ${READINGS}: refused, ${reason.message}`);
    }
    const readings: Record<Sensor, number[]> = Object.fromEntries(SENSORS.map((sensor, index) =>
      [sensor, sensorReadings({ seed: 2024, size: READINGS_PER_SENSOR, sensor: index })])) as Record<Sensor, number[]>;
    await Promise.all(SENSORS.map(async (sensor, index) => {
      // Records of 8 bytes: each append carries whole readings, so three writers never split one.
      const writer = sensors[index]!.openStreamWriter(READINGS, { recordBytes: 8 });
      for (let start = 0; start < READINGS_PER_SENSOR; start += BURST) {
        if (!writer.write(encodeF64(readings[sensor].slice(start, start + BURST)))) await once(writer, 'drain');
        await sleep(PAUSE_MS);
      }
      writer.end();
      await once(writer, 'finish');
      say(`${sensor}: sent ${READINGS_PER_SENSOR} readings (${writer.acceptedBytes} bytes) and closed its side of the stream`);
    }));

    step('Every sensor has closed the stream: the program ends, and its final line is checked in the clear');
    const exitCode = await execution;
    await following;
    say(`analyst: ${REMOTE_PROGRAM} exited ${exitCode}; ${AGGREGATE} ended after ${received.length} lines`);
    if (exitCode !== 0) throw new Error(`the program exited ${exitCode}`);
    const final = received.at(-1);
    if (final?.final !== true) throw new Error(`the last line of ${AGGREGATE} is not final: ${JSON.stringify(final)}`);
    if (received.length < 2) throw new Error('no aggregate line arrived before the final one');
    const clear = aggregateReadings(SENSORS.flatMap((sensor) => readings[sensor]));
    const difference = sameAggregate(final, clear);
    if (difference !== undefined) throw new Error(`the isolate's final aggregate differs from the clear: ${difference}`);
    say(`matches the aggregate computed here in the clear over all ${clear.count} readings: ` +
      `mean ${clear.mean!.toFixed(4)} °C, variance ${clear.variance!.toFixed(4)}, histogram [${clear.histogram.join(' ')}], under ${clear.under}, over ${clear.over}`);

    step('Shutting down');
    const ended = await shutDown(runner, server);
    server = undefined;
    say(ended);
    console.log(`\n${bold('Done.')}`);
  } finally {
    await tearDown({ clients, server, pas, work });
  }
}
