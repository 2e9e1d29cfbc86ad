// `npm run demo [-- NAME]`: runs a named demo end to end on this machine (real processes, loopback
// only), each checking its result against the same computation done here in the clear. Without a
// name, the default: a four-party computation.
import { intersectionDemo } from './demos/intersection.ts';
import { limitsDemo } from './demos/limits.ts';
import { embeddedDemo } from './demos/embedded.ts';
import { fleetDemo } from './demos/fleet.ts';
import { mapreduceDemo } from './demos/mapreduce.ts';
import { sealedDemo } from './demos/sealed.ts';
import { shamirDemo } from './demos/shamir.ts';
import { streamingDemo } from './demos/streaming.ts';

/** The demos, the default first. */
const DEMOS: readonly { name: string; summary: string; run: () => Promise<void> }[] = [
  { name: 'intersection', summary: 'four parties: an advertiser and a shop learn how much their shared customers spent, and nothing else (default)', run: intersectionDemo },
  { name: 'embedded', summary: 'three microphones with the embedded C client (wolfSSL) verify the isolate themselves and send their readings; a controller reads the triangulated position, checked in the clear', run: embeddedDemo },
  { name: 'fleet', summary: 'a warm pool of attested isolates serves a regression; members killed with kill -9 are detected and replaced, the computation they held marked lost; the pool scales', run: fleetDemo },
  { name: 'limits', summary: 'programs the parties agreed to run flood stdout and memory: refused within the isolate\'s memory budget, data intact', run: limitsDemo },
  { name: 'mapreduce', summary: 'four hospitals\' mapper isolates push regression statistics to a reducer isolate; no record leaves its isolate, a rogue isolate is refused', run: mapreduceDemo },
  { name: 'sealed', summary: '512 MiB through an isolate of 64 MiB, sealed out to the host\'s disk; a bit the host flips is caught, and nothing is lost', run: sealedDemo },
  { name: 'shamir', summary: 'the policy as an upper bound: a program chooses from the data which custodians receive shares of a secret and narrows the rights to match; the excluded are refused; the isolate-signed list of receivers is checked offline', run: shamirDemo },
  { name: 'streaming', summary: 'three sensors stream readings into a running program; an analyst follows the live aggregate, checked in the clear', run: streamingDemo },
];

function usage(): string {
  const width = Math.max(...DEMOS.map((demo) => demo.name.length));
  return `usage: npm run demo [-- NAME]\n\ndemos:\n${DEMOS.map((demo) => `  ${demo.name.padEnd(width)}  ${demo.summary}`).join('\n')}\n`;
}

const args = process.argv.slice(2);
if (args.length > 1 || (args[0]?.startsWith('-') && args[0] !== '--help' && args[0] !== '-h')) {
  process.stderr.write(`demo: expected at most one demo name\n${usage()}`);
  process.exit(2);
}
if (args[0] === '--help' || args[0] === '-h' || args[0] === 'list') {
  process.stdout.write(usage());
  process.exit(0);
}
const demo = args[0] === undefined ? DEMOS[0]! : DEMOS.find((candidate) => candidate.name === args[0]);
if (demo === undefined) {
  process.stderr.write(`demo: no demo named '${args[0]}'\n${usage()}`);
  process.exit(2);
}
try {
  await demo.run();
} catch (reason) {
  console.error(`\ndemo failed: ${reason instanceof Error ? reason.message : String(reason)}`);
  process.exitCode = 1;
}
