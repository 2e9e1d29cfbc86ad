/**
 * Runs docs/guide.md: every ```sh block, in order, exactly as the document has it, in one fresh
 * directory, with the repository's tools on PATH, so the guide cannot rot. A comment before a block
 * says how to run it: `<!-- guide: skip ... -->` (installation: the test runs from an installed
 * checkout), `<!-- guide: background "REGEX" -->` (a service: started, and awaited until its output
 * matches), `<!-- guide: fails "REGEX" -->` (must exit non-zero saying that), `<!-- guide: prints
 * "REGEX" -->` (must succeed and print that). Other blocks must exit 0.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { REPOSITORY_ROOT } from '@veracruz-ts/server';

/** One block of the guide and how to run it. */
interface GuideStep {
  line: number;
  script: string;
  mode: 'run' | 'skip' | 'background' | 'fails' | 'prints';
  pattern?: RegExp;
}

/** The guide's shell blocks, with the directive that precedes each (if any). */
function guideSteps(markdown: string): GuideStep[] {
  const steps: GuideStep[] = [];
  const lines = markdown.split('\n');
  let directive: Pick<GuideStep, 'mode' | 'pattern'> | undefined;
  for (let index = 0; index < lines.length; index++) {
    const line = lines[index]!;
    const comment = /^<!-- guide: (skip|background|fails|prints)(?: "(.*)")?.*-->$/.exec(line);
    if (comment !== null) {
      directive = { mode: comment[1] as GuideStep['mode'], ...(comment[2] === undefined ? {} : { pattern: new RegExp(comment[2]) }) };
      continue;
    }
    if (line !== '```sh') continue;
    const start = index + 1;
    const body: string[] = [];
    while (lines[++index] !== '```') {
      if (index >= lines.length) throw new Error(`unterminated block at line ${start}`);
      body.push(lines[index]!);
    }
    steps.push({ line: start, script: body.join('\n'), ...(directive ?? { mode: 'run' }) });
    directive = undefined;
  }
  return steps;
}

describe('docs/guide.md, run as written', () => {
  const services: ChildProcess[] = [];
  let work: string | undefined;

  after(async () => {
    for (const service of services) {
      if (service.exitCode === null && service.signalCode === null) process.kill(-service.pid!, 'SIGTERM');
    }
    if (work !== undefined) await rm(work, { recursive: true, force: true });
  });

  it('takes a newcomer from nothing to a two-party computation, a refused read and shutdown', { timeout: 300_000 }, async () => {
    const steps = guideSteps(await readFile(join(REPOSITORY_ROOT, 'docs/guide.md'), 'utf8'));
    assert.ok(steps.filter((step) => step.mode !== 'skip').length >= 10, 'the guide has its steps');
    work = await mkdtemp(join(tmpdir(), 'veracruz-guide-'));
    // As the guide's installation step leaves the user's shell: the repository's tools first on PATH.
    const env = {
      PATH: [join(REPOSITORY_ROOT, 'node_modules/.bin'), ...(process.env.PATH ?? '').split(delimiter)].join(delimiter),
      HOME: work,
      VERACRUZ_TS: REPOSITORY_ROOT,
    };
    const run = async (step: GuideStep): Promise<{ code: number | null; output: string }> => {
      const child = spawn('bash', ['-e', '-o', 'pipefail', '-c', step.script], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'] });
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
      const [code] = (await once(child, 'exit')) as [number | null];
      return { code, output };
    };

    for (const step of steps) {
      const where = `docs/guide.md:${step.line}: ${step.script.split('\n')[0]}`;
      if (step.mode === 'skip') continue;
      if (step.mode === 'background') {
        const service = spawn('bash', ['-c', `exec ${step.script}`], { cwd: work, env, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
        services.push(service);
        let output = '';
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`${where}: not ready within 60 s:\n${output}`)), 60_000);
          const look = (chunk: Buffer): void => {
            output += chunk.toString();
            if (step.pattern!.test(output)) {
              clearTimeout(timer);
              resolve();
            }
          };
          service.stdout!.on('data', look);
          service.stderr!.on('data', look);
          service.once('exit', (code) => {
            clearTimeout(timer);
            reject(new Error(`${where}: exited (${code}) before it was ready:\n${output}`));
          });
        });
        continue;
      }
      const { code, output } = await run(step);
      if (step.mode === 'fails') {
        assert.notEqual(code, 0, `${where}: was expected to fail:\n${output}`);
      } else {
        assert.equal(code, 0, `${where}: failed:\n${output}`);
      }
      if (step.pattern !== undefined) assert.match(output, step.pattern, where);
    }

    // Reading the result shut the computation down: vc-server (the second service) ends by itself, with 0.
    const server = services[1]!;
    if (server.exitCode === null) await once(server, 'exit');
    assert.equal(server.exitCode, 0);
    // And the refused read left no file behind.
    await assert.rejects(readFile(join(work, 'stolen.dat')), /ENOENT/);
  });
});
