/**
 * Test support: runs one of this package's command-line tools in a child process, as a user would,
 * on the running Node with the engine's flags, and collects what it printed.
 */
import { spawn } from 'node:child_process';

/** How a tool run ended and what it printed. */
export interface ToolRun {
  status: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `script` (a tool's `.ts` entry) with `args`; `stdin` is written to it, then closed. */
export function runTool(script: string, args: readonly string[], options: { cwd?: string; stdin?: string } = {}): Promise<ToolRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--no-liftoff', script, ...args], { cwd: options.cwd ?? process.cwd(), stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (status) => resolve({ status, stdout, stderr }));
    child.stdin.end(options.stdin ?? '');
  });
}
