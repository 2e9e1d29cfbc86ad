/**
 * Builds the embedded client's host command, `vc-embedded`, with the system C compiler and the
 * system wolfSSL, for one policy: the policy's facts header (`vc-pgen header`) is compiled in.
 * Builds go to build/embedded/ (not committed), one directory per set of inputs, so a build whose
 * sources, header and flags are unchanged is reused.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);

/** The package's directory (include/, src/, platform/, cli/). */
export const EMBEDDED_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The client library's C sources, relative to {@link EMBEDDED_ROOT}: what a device links. */
export const CLIENT_SOURCES: readonly string[] = ['src/vc_client.c', 'src/vc_protocol.c', 'src/vc_verify.c', 'src/vc_text.c'];

/** The POSIX platform layer, relative to {@link EMBEDDED_ROOT}. */
export const POSIX_PLATFORM_SOURCES: readonly string[] = ['platform/posix.c'];

const CLI_SOURCE = 'cli/vc_embedded_cli.c';
const HEADERS: readonly string[] = ['include/vc_client.h', 'include/vc_platform.h', 'src/vc_protocol.h', 'src/vc_verify.h', 'src/vc_text.h', 'platform/vc_posix.h'];
const INCLUDE_DIRECTORIES: readonly string[] = ['include', 'src', 'platform'];

/** The flags every build uses. */
export const C_FLAGS: readonly string[] = ['-std=c99', '-Wall', '-Wextra', '-Werror', '-O2'];

/** Options of {@link buildEmbeddedCli}. */
export interface EmbeddedBuildOptions {
  /** The policy facts header (`vc-pgen header`) to compile in. */
  policyHeader: string;
  /** Where builds go. @default `<repository>/build/embedded` */
  outDir?: string;
  /** Bytes of file data per message (VC_CHUNK_BYTES). @default 4096 */
  chunkBytes?: number;
  /** The C compiler. @default `$CC`, else `cc` */
  cc?: string;
}

/** Fails with what to do when there is no C compiler or no wolfSSL headers. */
async function checkToolchain(cc: string): Promise<string> {
  const setup = 'run scripts/setup-system.sh (as root), which installs libwolfssl-dev';
  let version: string;
  try {
    version = (await run(cc, ['--version'])).stdout;
  } catch (reason) {
    throw new Error(`no C compiler (${cc}): install one (Debian: build-essential), then ${setup}`, { cause: reason });
  }
  const probe = run(cc, ['-E', '-x', 'c', '-', '-o', '/dev/null']);
  probe.child.stdin?.end('#include <wolfssl/options.h>\n#include <wolfssl/ssl.h>\n');
  try {
    await probe;
  } catch (reason) {
    throw new Error(`wolfSSL's headers are missing (<wolfssl/ssl.h> does not compile with ${cc}): ${setup}`, { cause: reason });
  }
  return version;
}

async function compile(cc: string, args: readonly string[], cwd: string): Promise<void> {
  try {
    await run(cc, [...args], { cwd, maxBuffer: 16 * 1024 * 1024 });
  } catch (reason) {
    const stderr = (reason as { stderr?: string }).stderr ?? '';
    throw new Error(`compiling the embedded client failed: ${cc} ${args.join(' ')}\n${stderr}`, { cause: reason });
  }
}

/**
 * Builds `vc-embedded` for the facts header `policyHeader` and returns the binary's path. Reuses
 * an earlier build of the same inputs. Throws, naming scripts/setup-system.sh, when wolfSSL's
 * headers or the compiler are missing.
 */
export async function buildEmbeddedCli(options: EmbeddedBuildOptions): Promise<string> {
  const cc = options.cc ?? process.env['CC'] ?? 'cc';
  const chunkBytes = options.chunkBytes ?? 4096;
  if (!Number.isInteger(chunkBytes) || chunkBytes < 512 || chunkBytes > 1024 * 1024) {
    throw new RangeError(`chunkBytes ${chunkBytes}: expected an integer from 512 to 1048576`);
  }
  const policyHeader = resolve(options.policyHeader);
  const outDir = resolve(options.outDir ?? join(EMBEDDED_ROOT, '../../build/embedded'));
  const compilerVersion = await checkToolchain(cc);
  const flags = [...C_FLAGS, `-DVC_CHUNK_BYTES=${chunkBytes}`, ...INCLUDE_DIRECTORIES.map((directory) => `-I${join(EMBEDDED_ROOT, directory)}`)];

  const inputs = createHash('sha256');
  for (const part of [cc, compilerVersion, ...flags]) inputs.update(`${part}\0`);
  for (const file of [...CLIENT_SOURCES, ...POSIX_PLATFORM_SOURCES, CLI_SOURCE, ...HEADERS]) {
    inputs.update(`${file}\0`).update(await readFile(join(EMBEDDED_ROOT, file))).update('\0');
  }
  inputs.update(await readFile(policyHeader));
  const directory = join(outDir, inputs.digest('hex').slice(0, 16));
  const binary = join(directory, 'vc-embedded');
  if (existsSync(binary)) return binary;

  // Built beside its final place, then renamed into it whole.
  await mkdir(outDir, { recursive: true });
  const work = await mkdtemp(join(outDir, 'building-'));
  try {
    const objects: string[] = [];
    for (const source of [...CLIENT_SOURCES, ...POSIX_PLATFORM_SOURCES]) {
      const object = `${source.replaceAll('/', '_')}.o`;
      await compile(cc, [...flags, '-c', join(EMBEDDED_ROOT, source), '-o', object], work);
      objects.push(object);
    }
    // Only the command sees the policy: vc_client.h first, for a header that does not include it.
    await compile(cc, [...flags, '-include', 'vc_client.h', '-include', policyHeader, '-c', join(EMBEDDED_ROOT, CLI_SOURCE), '-o', 'cli.o'], work);
    await compile(cc, [...objects, 'cli.o', '-lwolfssl', '-o', 'vc-embedded'], work);
    await rename(work, directory).catch(async (reason: unknown) => {
      // Another build of the same inputs got there first: its binary is as good.
      if (!existsSync(binary)) throw reason;
      await rm(work, { recursive: true, force: true });
    });
  } catch (reason) {
    await rm(work, { recursive: true, force: true });
    throw reason;
  }
  return binary;
}
