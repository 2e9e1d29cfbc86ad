#!/usr/bin/env node
// vc-server: the untrusted host. Launches an isolate, has it certified by the policy's PAS, and relays
// clients' TLS connections to it. Usage:
//   vc-server policy.json [--platform linux|sev-snp|tdx] [--runtime PATH] [--dev-key PATH] [--pas URL] [--listen HOST:PORT]
//             [--network auto|required|off] [--max-sessions N] [--isolate-flag FLAG]... (a Node/V8 flag for the isolate)
import { parseArgs } from 'node:util';
import { VeracruzError } from '@veracruz-ts/policy';
import { startServer } from '../src/index.ts';
import type { ServerPlatform } from '../src/index.ts';

const usage = 'usage: vc-server policy.json [--platform linux|sev-snp|tdx] [--runtime PATH] [--dev-key PATH] [--pas URL] [--listen HOST:PORT] [--network auto|required|off] [--max-sessions N (default 256)] [--isolate-flag FLAG]...';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        platform: { type: 'string', default: 'linux' },
        runtime: { type: 'string' },
        'dev-key': { type: 'string' },
        pas: { type: 'string' },
        listen: { type: 'string' },
        network: { type: 'string', default: 'auto' },
        'max-sessions': { type: 'string' },
        'isolate-flag': { type: 'string', multiple: true },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    console.error(`vc-server: ${(error as Error).message}\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  if (positionals.length !== 1) {
    console.error(usage);
    return 2;
  }
  const platform = values.platform;
  if (platform !== 'linux' && platform !== 'sev-snp' && platform !== 'tdx') {
    console.error(`vc-server: unknown platform '${platform}'\n${usage}`);
    return 2;
  }
  const network = values.network;
  if (network !== 'auto' && network !== 'required' && network !== 'off') {
    console.error(`vc-server: --network must be auto, required or off\n${usage}`);
    return 2;
  }
  const maxSessions = values['max-sessions'] === undefined ? undefined : Number(values['max-sessions']);
  if (maxSessions !== undefined && (!Number.isSafeInteger(maxSessions) || maxSessions < 1)) {
    console.error(`vc-server: --max-sessions must be a positive integer\n${usage}`);
    return 2;
  }
  let server;
  try {
    server = await startServer({
      policyPath: positionals[0]!,
      platform: platform satisfies ServerPlatform,
      network,
      ...(values.runtime === undefined ? {} : { runtimePath: values.runtime }),
      ...(values['dev-key'] === undefined ? {} : { devKeyPath: values['dev-key'] }),
      ...(values.pas === undefined ? {} : { pasUrl: values.pas }),
      ...(values.listen === undefined ? {} : { listen: values.listen }),
      ...(maxSessions === undefined ? {} : { maxSessions }),
      ...(values['isolate-flag'] === undefined ? {} : { nodeFlags: values['isolate-flag'] }),
    });
  } catch (error) {
    console.error(`vc-server: ${error instanceof VeracruzError ? error.message : String(error)}`);
    return 1;
  }
  if (server.devPublicKeyPath !== undefined) console.error(`dev key (public, for vc-pas enroll): ${server.devPublicKeyPath}`);
  console.error(`runtime measurement ${server.measurement}${server.isolatePid === undefined ? '' : `, isolate pid ${server.isolatePid}`}`);
  const timings = server.bootTimings;
  console.error(`ready in ${timings.ready.toFixed(0)} ms (isolate started ${timings.launched.toFixed(0)}, attested ${timings.attested.toFixed(0)}, certified ${timings.certified.toFixed(0)}, initialized ${timings.initialized.toFixed(0)})`);
  // Handlers first: stdout to a pipe is written synchronously, so whoever waits for the line below
  // may signal before the next statement runs, and an unhandled SIGTERM would kill the process.
  const stop = (): void => void server.close();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  console.log(`Veracruz server running on ${server.url}`);
  const exit = await server.exited;
  if (exit.code === 0) console.error(`vc-server: ${exit.reason}`);
  else console.error(`vc-server: ${exit.reason}; stopping`);
  return exit.code;
}

process.exitCode = await main();
