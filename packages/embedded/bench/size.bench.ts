// What the embedded client costs a small device, measured rather than hoped for:
//   1. Cortex-M4 flash and static RAM (arm-none-eabi-gcc, -mcpu=cortex-m4 -mthumb -Os, function and
//      data sections, linked with --gc-sections and newlib-nano against a stub main that calls the
//      whole API and a platform layer that does nothing): the client's own code, wolfSSL 5.5.4 cut
//      down to a TLS 1.3 client (size/user_settings.h, Debian's source, checked against a pinned
//      SHA-256, built once and cached), the C library, and the image's total; each part is the sum
//      of the input sections the linker kept from its objects (the link map).
//   2. Host RAM of whole sessions of the real vc-embedded CLI against a real vc-server (connect and
//      verify, write a few KiB in chunks, read them back, run a program, shut down): wolfSSL's heap
//      high-water mark (its allocator hooks, counted) and the main thread's stack high-water mark
//      (painted before main), with Debian's libwolfssl and with the device's wolfSSL configuration
//      built for the host, next to the client's static buffers (sizeof(vc_session)).
// Goals: the client's own code < 16 KiB of flash; a whole session < 64 KiB of RAM.
//
//   node --no-liftoff --expose-gc packages/embedded/bench/size.bench.ts
//   EMBEDDED_SIZE_CACHE=/tmp/wolfssl-m4 node ... # where the wolfSSL download and builds are cached
//                                                # (default build/embedded-size/ at the repository root)
//   EMBEDDED_SIZE_HOST=0 node ...                # Cortex-M4 figures only
import { execFile, spawn, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, globSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parsePolicy, RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import type { RunningServer } from '@veracruz-ts/server';
import { policyFactsHeader } from '@veracruz-ts/tools/header';
import { connect, e2ePolicy, exampleProgram, party, type Party, startComputation, startTestPas, type TestPas } from '../../../tests/e2e/harness.ts';
import { buildEmbeddedCli, C_FLAGS, CLIENT_SOURCES, EMBEDDED_ROOT, POSIX_PLATFORM_SOURCES } from '../src/build.ts';

const PACKAGE = fileURLToPath(new URL('..', import.meta.url));
const REPOSITORY = join(PACKAGE, '../..');
const SIZE = join(PACKAGE, 'size');
const CACHE = process.env['EMBEDDED_SIZE_CACHE'] ?? join(REPOSITORY, 'build/embedded-size');

/** Debian's wolfSSL source (the version libwolfssl-dev is built from), pinned by its SHA-256. */
const WOLFSSL = {
  version: '5.5.4',
  url: 'http://deb.debian.org/debian/pool/main/w/wolfssl/wolfssl_5.5.4.orig.tar.gz',
  // As Debian's wolfssl_5.5.4-2+deb12u2.dsc lists it (Checksums-Sha256).
  sha256: 'b7ee150e49def77c765bc02aac92ddeb0bebefd4cb12aa263d8f95e405221fb8',
  directory: 'wolfssl-5.5.4-stable',
} as const;

const KIB = 1024;
const GOAL_CLIENT_FLASH = 16 * KIB;
const GOAL_SESSION_RAM = 64 * KIB;

const CROSS = 'arm-none-eabi-';
const M4_FLAGS = ['-mcpu=cortex-m4', '-mthumb', '-Os', '-ffunction-sections', '-fdata-sections', '-std=gnu99'];
const M4_LINK = ['--specs=nano.specs', '--specs=nosys.specs', '-Wl,--gc-sections'];

/** Runs a tool to completion; throws with its stderr when it fails. */
function run(command: string, args: readonly string[]): string {
  const result = spawnSync(command, args, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw new Error(`${command}: ${result.error.message}`);
  if (result.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (${result.status}):\n${result.stderr}`);
  return result.stdout;
}

/** Runs the commands, as many at a time as there are cores; throws their failures once all have ended. */
async function runAll(commands: readonly { command: string; args: readonly string[] }[]): Promise<void> {
  const failures: string[] = [];
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < commands.length) {
      const { command, args } = commands[next++]!;
      const stderr = await new Promise<string | undefined>((resolve) => {
        const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
        let text = '';
        child.stderr.setEncoding('utf8').on('data', (chunk: string) => (text += chunk));
        child.on('error', (error) => resolve(error.message));
        child.on('close', (code) => resolve(code === 0 ? undefined : text));
      });
      if (stderr !== undefined) failures.push(`${command} ${args.join(' ')}:\n${stderr}`);
    }
  };
  await Promise.all(Array.from({ length: availableParallelism() }, worker));
  if (failures.length > 0) throw new Error(failures.join('\n'));
}

const sha256 = (data: string | Uint8Array): string => createHash('sha256').update(data).digest('hex');

/** Writes beside `path` and renames into place, so a cached file is whole or absent. */
async function writeWhole(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const partial = `${path}.partial-${process.pid}`;
  await writeFile(partial, data);
  await rename(partial, path);
}

/** wolfSSL's source tree: downloaded once, checked against the pinned hash, extracted once. */
async function wolfsslSource(): Promise<string> {
  const tarball = join(CACHE, basename(WOLFSSL.url));
  if (!existsSync(tarball)) {
    const response = await fetch(WOLFSSL.url);
    if (!response.ok) throw new Error(`downloading ${WOLFSSL.url}: HTTP ${response.status}`);
    const bytes = new Uint8Array(await response.arrayBuffer());
    if (sha256(bytes) !== WOLFSSL.sha256) throw new Error(`${WOLFSSL.url} has SHA-256 ${sha256(bytes)}, not the pinned ${WOLFSSL.sha256}`);
    await writeWhole(tarball, bytes);
  }
  const digest = sha256(readFileSync(tarball));
  if (digest !== WOLFSSL.sha256) throw new Error(`${tarball} has SHA-256 ${digest}, not the pinned ${WOLFSSL.sha256}: delete it to download it again`);
  const source = join(CACHE, WOLFSSL.directory);
  const extracted = join(source, '.extracted');
  if (!existsSync(extracted)) {
    await rm(source, { recursive: true, force: true });
    run('tar', ['-xzf', tarball, '-C', CACHE]);
    await writeFile(extracted, WOLFSSL.sha256);
  }
  return source;
}

/** A build of wolfSSL with size/user_settings.h: a static library, cached by everything that shapes it. */
interface WolfsslBuild {
  library: string;
  /** What code including wolfSSL's headers compiles with to see the same configuration. */
  cflags: string[];
}

/**
 * Compiles every wolfSSL source (the options switch off what a TLS 1.3 client does not use; a
 * file switched off compiles to nothing) and the port glue into one archive.
 */
async function buildWolfssl(source: string, name: string, compiler: string, archiver: string, flags: readonly string[]): Promise<WolfsslBuild> {
  const cflags = ['-DWOLFSSL_USER_SETTINGS', ...flags.filter((flag) => flag.startsWith('-D')), `-I${SIZE}`, `-I${source}`];
  const inputs = ['user_settings.h', 'wolfssl_port.c'].map((file) => readFileSync(join(SIZE, file), 'utf8'));
  const key = sha256(JSON.stringify([WOLFSSL.sha256, run(compiler, ['--version']), flags, inputs, readFileSync(join(PACKAGE, 'include/vc_platform.h'), 'utf8')])).slice(0, 16);
  const directory = join(CACHE, `wolfssl-${name}-${key}`);
  const library = join(directory, 'libwolfssl.a');
  if (existsSync(library)) return { library, cflags };
  await rm(directory, { recursive: true, force: true });
  await mkdir(join(directory, 'objects'), { recursive: true });
  const units = ['src', 'wolfcrypt/src']
    .flatMap((folder) => globSync(`${folder}/*.c`, { cwd: source }).map((file) => ({ file: join(source, file), object: file.replaceAll('/', '_') })))
    .concat({ file: join(SIZE, 'wolfssl_port.c'), object: 'port_wolfssl_port.c' });
  const args = [...flags, ...cflags, `-I${join(PACKAGE, 'include')}`, '-c'];
  await runAll(units.map(({ file, object }) => ({ command: compiler, args: [...args, file, '-o', join(directory, 'objects', `${object}.o`)] })));
  run(archiver, ['rcs', `${library}.partial`, ...units.map(({ object }) => join(directory, 'objects', `${object}.o`))]);
  await rename(`${library}.partial`, library);
  return { library, cflags };
}

/** Flash and static RAM of one part of an image, in bytes. */
interface Footprint {
  /** Code and read-only data, plus the initial values of .data: what the part puts in flash. */
  flash: number;
  /** .data and .bss: the RAM the part holds for the program's whole life. */
  ram: number;
}

const PARTS = ['client', 'wolfSSL', 'C library', 'stubs and port'] as const;
type Part = (typeof PARTS)[number];

/** Which part an input object of the link belongs to. */
function partOf(object: string, clientObjects: string, wolfssl: string): Part {
  if (object.startsWith(clientObjects)) return 'client';
  if (/(^|[/(])(stub_|port_)[^/]*$/.test(object)) return 'stubs and port';
  if (object.startsWith(wolfssl)) return 'wolfSSL';
  return 'C library';
}

/**
 * The image's bytes by part, from the link map: each allocated output section's bytes, address by
 * address, go to the object whose input section covers them. Padding goes to the object before it;
 * merged strings that several objects share, to the first of them.
 */
function footprintByPart(map: string, sections: ReadonlyMap<string, OutputSection>, owner: (object: string) => Part): Map<Part, Footprint> {
  const parts = new Map<Part, Footprint>(PARTS.map((part) => [part, { flash: 0, ram: 0 }]));
  const inputs = new Map<string, { address: number; size: number; part: Part }[]>();
  let output: string | undefined;
  let pendingName = false;
  for (const line of map.slice(map.indexOf('Linker script and memory map')).split('\n')) {
    const outputMatch = /^(\.\S+)(?:\s+0x[0-9a-f]+\s+0x[0-9a-f]+)?\s*$/.exec(line);
    if (outputMatch) {
      output = sections.has(outputMatch[1]!) ? outputMatch[1]! : undefined;
      if (output !== undefined) inputs.set(output, []);
      pendingName = false;
      continue;
    }
    // An input section: " .text.name 0xADDRESS 0xSIZE object", or its name alone with the rest on the next line.
    const whole = /^ [^\s*]\S*\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*?)\s*$/.exec(line);
    const continued = pendingName ? /^\s+0x([0-9a-f]+)\s+0x([0-9a-f]+)\s+(\S.*?)\s*$/.exec(line) : null;
    pendingName = /^ [^\s*]\S*\s*$/.test(line);
    const match = whole ?? continued;
    if (output === undefined || !match) continue;
    inputs.get(output)!.push({ address: Number.parseInt(match[1]!, 16), size: Number.parseInt(match[2]!, 16), part: owner(match[3]!) });
  }
  for (const [name, entries] of inputs) {
    const section = sections.get(name)!;
    const end = section.address + section.size;
    entries.sort((a, b) => a.address - b.address);
    let covered = section.address;
    let last: Part | undefined;
    const add = (part: Part, bytes: number): void => {
      const footprint = parts.get(part)!;
      if (section.flash) footprint.flash += bytes;
      if (section.ram) footprint.ram += bytes;
    };
    for (const { address, size, part } of entries) {
      const from = Math.max(covered, address);
      const to = Math.min(address + size, end);
      if (address > covered && last !== undefined) add(last, Math.min(address, end) - covered);
      if (to > from) add(part, to - from);
      covered = Math.max(covered, Math.min(to, end), Math.min(address, end));
      if (size > 0) last = part;
    }
    if (covered < end) add(last ?? 'C library', end - covered);
  }
  return parts;
}

/** An allocated output section of an ELF image: where it is, and whether it takes flash, RAM or both. */
interface OutputSection {
  address: number;
  size: number;
  flash: boolean;
  ram: boolean;
}

/** The allocated output sections of an ELF image. */
function outputSections(elf: string): Map<string, OutputSection> {
  const sections = new Map<string, OutputSection>();
  const lines = run(`${CROSS}objdump`, ['-h', '-w', elf]).split('\n');
  for (const line of lines) {
    const match = /^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+[0-9a-f]+\s+\S+\s+(.*)$/.exec(line);
    if (!match) continue;
    const flags = match[4]!.split(/,\s*/);
    if (!flags.includes('ALLOC')) continue;
    const size = Number.parseInt(match[2]!, 16);
    sections.set(match[1]!, { address: Number.parseInt(match[3]!, 16), size, flash: flags.includes('LOAD'), ram: !flags.includes('READONLY') });
  }
  return sections;
}

/** text, data and bss of object files, as arm-none-eabi-size counts them. */
function objectSizes(objects: readonly string[]): { text: number; data: number; bss: number } {
  const totals = run(`${CROSS}size`, ['-t', ...objects]).trim().split('\n').at(-1)!.trim().split(/\s+/).map(Number);
  return { text: totals[0]!, data: totals[1]!, bss: totals[2]! };
}

/** The Cortex-M4 figures of one wolfSSL configuration. */
interface CortexM4Figures {
  variant: string;
  /** sizeof(vc_session) on the device: the stub main's static session. */
  sessionBytes: number;
  parts: Map<Part, Footprint>;
  total: Footprint;
  /** Every function of the client's objects, before the linker drops any (arm-none-eabi-size). */
  clientObjects: { text: number; data: number; bss: number };
  /** The C library functions the client's own objects call. */
  clientLibc: string[];
}

/** Compiles the client for the Cortex-M4 against `wolfssl`, links the stub program and measures it. */
async function cortexM4(wolfssl: WolfsslBuild, name: string, variant: string, flags: readonly string[]): Promise<CortexM4Figures> {
  const directory = join(CACHE, name);
  const clientDirectory = join(directory, 'client');
  await rm(directory, { recursive: true, force: true });
  await mkdir(clientDirectory, { recursive: true });
  const args = [...flags, ...wolfssl.cflags, `-I${join(PACKAGE, 'include')}`, `-I${join(PACKAGE, 'src')}`, '-Wall', '-Wextra', '-Werror', '-c'];
  const clientSources = CLIENT_SOURCES.map((file) => join(EMBEDDED_ROOT, file));
  const clientObjects = clientSources.map((file) => join(clientDirectory, `${basename(file, '.c')}.o`));
  const stubs = ['stub_main.c', 'stub_platform.c'].map((file) => join(SIZE, file));
  const stubObjects = stubs.map((file) => join(directory, `${basename(file, '.c')}.o`));
  await runAll([...clientSources, ...stubs].map((file, index) => ({ command: `${CROSS}gcc`, args: [...args, file, '-o', [...clientObjects, ...stubObjects][index]!] })));
  const elf = join(directory, 'image.elf');
  const mapFile = join(directory, 'image.map');
  run(`${CROSS}gcc`, [...flags, ...M4_LINK, `-Wl,-Map=${mapFile}`, '-o', elf, ...stubObjects, ...clientObjects, wolfssl.library]);
  const sections = outputSections(elf);
  const parts = footprintByPart(await readFile(mapFile, 'utf8'), sections, (object) => partOf(object, clientDirectory, wolfssl.library));
  const total = { flash: 0, ram: 0 };
  for (const { flash, ram, size } of sections.values()) {
    if (flash) total.flash += size;
    if (ram) total.ram += size;
  }
  const counted = [...parts.values()].reduce((sum, part) => ({ flash: sum.flash + part.flash, ram: sum.ram + part.ram }), { flash: 0, ram: 0 });
  if (counted.flash !== total.flash || counted.ram !== total.ram) {
    throw new Error(`the link map accounts for ${counted.flash} B flash / ${counted.ram} B RAM, the image has ${total.flash} / ${total.ram}`);
  }
  const undefinedSymbols = run(`${CROSS}nm`, ['-u', ...clientObjects]).split('\n').map((line) => line.trim().split(/\s+/).at(-1) ?? '');
  const clientLibc = [...new Set(undefinedSymbols.filter((name) => name !== '' && !name.includes(':') && !/^(wolfSSL|wolfTLS|wc_|vc_)/.test(name)))].sort();
  const allocating = clientLibc.filter((name) => /^(malloc|calloc|realloc|free|_malloc_r|_free_r)$/.test(name));
  if (allocating.length > 0) throw new Error(`the client's own objects call ${allocating.join(', ')}: it must not allocate`);
  const session = /^[0-9a-f]+ ([0-9a-f]+) [bBdD] session$/m.exec(run(`${CROSS}nm`, ['-S', elf]));
  if (!session) throw new Error(`no static session in ${elf}`);
  return { variant, sessionBytes: Number.parseInt(session[1]!, 16), parts, total, clientObjects: objectSizes(clientObjects), clientLibc };
}

/** vc-embedded's RAM over one command: a whole session (connect, verify, the command, close). */
interface SessionFigures {
  command: string;
  /** wolfSSL's heap high-water mark (vc-embedded --heap-stats), bytes. */
  heapPeak: number;
  heapAllocations: number;
  /** The main thread's stack high-water mark from the process's entry, bytes. */
  stackPeak: number;
}

/** The session runs of one build of vc-embedded: how it was built, sizeof(vc_session), each command's figures. */
interface HostFigures {
  build: string;
  sessionBytes: number;
  sessions: SessionFigures[];
}

/** Runs a command without blocking this process (vc-server and the PAS run in it); stdin is empty. */
const runCli = (file: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<{ code: number | null; stdout: Buffer; stderr: string }> =>
  new Promise((resolve, reject) => {
    const child = execFile(file, args, { env, encoding: 'buffer', maxBuffer: 64 * 1024 * 1024, timeout: 120_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(error);
      else resolve({ code: error ? (error.code as number) : 0, stdout, stderr: stderr.toString('utf8') });
    });
    child.stdin?.end();
  });

/** A running computation for the host sessions: PAS, vc-server (linux isolate), a device and the sort program uploaded. */
interface Computation {
  pas: TestPas;
  server: RunningServer;
  policyText: string;
  device: Party;
}

const SORT = '/program/sort-integers.wasm';

async function startSortComputation(): Promise<Computation> {
  const pas = await startTestPas();
  try {
    const provider = await party('program-provider', [{ file_name: '/program/', rights: RIGHTS_WRITE }]);
    const device = await party('device', [
      { file_name: '/input/', rights: RIGHTS_READ | RIGHTS_WRITE },
      { file_name: '/program/', rights: RIGHTS_EXECUTE },
      { file_name: '/output/', rights: RIGHTS_READ },
    ]);
    const sort = await exampleProgram('sort-integers');
    const policyText = await e2ePolicy(pas, {
      parties: [provider, device],
      programs: [{ path: SORT, binary: sort, rights: [{ file_name: '/input/', rights: RIGHTS_READ }, { file_name: '/output/', rights: RIGHTS_WRITE }] }],
    });
    const server = await startComputation(policyText, pas);
    const uploader = await connect(server, policyText, provider);
    await uploader.writeFile(SORT, sort);
    await uploader.close();
    return { pas, server, policyText, device };
  } catch (reason) {
    await pas.close();
    throw reason;
  }
}

/** Little-endian u32s as bytes. */
function u32s(values: readonly number[]): Buffer {
  const bytes = Buffer.alloc(values.length * 4);
  for (const [index, value] of values.entries()) bytes.writeUInt32LE(value, index * 4);
  return bytes;
}

/**
 * One whole session per command, as vc-embedded runs them: the policy hash (connect and verify
 * only), a 12 KiB write in 3 chunks, reading it back, running the sort, reading its output, and
 * shutting the computation down. Each output is checked, so a figure never comes from a failure.
 */
async function hostSessions(binary: string, painter: string, computation: Computation, work: string): Promise<SessionFigures[]> {
  const { server, device } = computation;
  await writeFile(join(work, 'device.crt'), device.certificatePem);
  await writeFile(join(work, 'device.key'), device.privateKeyPem, { mode: 0o600 });
  const values = Array.from({ length: 3072 }, (_, index) => (index * 2_654_435_761) >>> 0);
  const data = u32s(values);
  await writeFile(join(work, 'ints.bin'), data);
  const policyHash = (await parsePolicy(computation.policyText)).hash;
  const steps: { command: string[]; expect: (stdout: Buffer) => boolean }[] = [
    { command: ['policy-hash'], expect: (stdout) => stdout.toString() === `${policyHash}\n` },
    { command: ['write', '/input/ints.bin', join(work, 'ints.bin')], expect: (stdout) => stdout.length === 0 },
    { command: ['read', '/input/ints.bin'], expect: (stdout) => stdout.equals(data) },
    { command: ['run', SORT], expect: (stdout) => stdout.toString() === '0\n' },
    { command: ['read', '/output/sorted.bin'], expect: (stdout) => stdout.equals(u32s([...values].sort((a, b) => a - b))) },
    { command: ['shutdown'], expect: (stdout) => stdout.length === 0 },
  ];
  const report = join(work, 'stack.json');
  const figures: SessionFigures[] = [];
  for (const { command, expect } of steps) {
    await rm(report, { force: true });
    const env = { ...process.env, LD_PRELOAD: painter, LD_BIND_NOW: '1', VC_STACK_REPORT: report };
    const args = ['--cert', join(work, 'device.crt'), '--key', join(work, 'device.key'), '--address', server.url, '--heap-stats', ...command];
    const result = await runCli(binary, args, env);
    const heap = /wolfSSL heap: peak (\d+) bytes, (\d+) allocations, (\d+) bytes still held/.exec(result.stderr);
    if (result.code !== 0 || !expect(result.stdout) || !heap) {
      throw new Error(`${binary} ${command.join(' ')} exited with ${result.code}, stdout ${result.stdout.length} bytes, stderr:\n${result.stderr}`);
    }
    const stack = JSON.parse(await readFile(report, 'utf8')) as { stackPeak: number; beyondPaint: boolean };
    if (stack.beyondPaint) throw new Error(`vc-embedded ${command.join(' ')}: the stack went deeper than the painted region`);
    figures.push({ command: command.map((part) => (part.startsWith(work) ? basename(part) : part)).join(' '), heapPeak: Number(heap[1]), heapAllocations: Number(heap[2]), stackPeak: stack.stackPeak });
  }
  return figures;
}

/** sizeof(vc_session) as `cc` with `flags` lays it out. */
async function sessionSize(cc: string, flags: readonly string[], work: string): Promise<number> {
  const probe = join(work, 'session-size.c');
  await writeFile(probe, '#include <stdio.h>\n#include "vc_client.h"\nint main(void) { printf("%zu\\n", sizeof(vc_session)); return 0; }\n');
  run(cc, [...flags, probe, '-o', join(work, 'session-size')]);
  return Number(run(join(work, 'session-size'), []).trim());
}

/**
 * vc-embedded built against the device's wolfSSL configuration (size/user_settings.h, built for
 * this host), with the same sources and flags build.ts uses for the system-wolfSSL build.
 */
async function deviceConfigurationCli(wolfssl: WolfsslBuild, header: string, work: string): Promise<string> {
  const directory = join(work, 'device-configuration');
  await mkdir(directory, { recursive: true });
  const flags = [...C_FLAGS, '-DVC_CHUNK_BYTES=4096', ...['include', 'src', 'platform'].map((folder) => `-I${join(EMBEDDED_ROOT, folder)}`), ...wolfssl.cflags];
  const sources = [...CLIENT_SOURCES, ...POSIX_PLATFORM_SOURCES].map((file) => join(EMBEDDED_ROOT, file));
  const objects = sources.map((file) => join(directory, `${basename(file, '.c')}.o`));
  const cli = join(directory, 'cli.o');
  await runAll([
    ...sources.map((file, index) => ({ command: 'cc', args: [...flags, '-c', file, '-o', objects[index]!] })),
    { command: 'cc', args: [...flags, '-include', 'vc_client.h', '-include', header, '-c', join(EMBEDDED_ROOT, 'cli/vc_embedded_cli.c'), '-o', cli] },
  ]);
  const binary = join(directory, 'vc-embedded');
  run('cc', [...objects, cli, wolfssl.library, '-o', binary]);
  return binary;
}

/** Both builds of vc-embedded, each over whole sessions against its own fresh computation. */
async function host(source: string): Promise<HostFigures[]> {
  const work = await mkdtemp(join(tmpdir(), 'vc-embedded-size-'));
  try {
    const painter = join(work, 'stack_painter.so');
    run('cc', [...C_FLAGS, '-fPIC', '-shared', join(SIZE, 'stack_painter.c'), '-o', painter]);
    const deviceWolfssl = await buildWolfssl(source, 'host', 'cc', 'ar', ['-O2', '-std=gnu99', '-DVC_SIZE_HOST']);
    const includes = ['include', 'src', 'platform'].map((folder) => `-I${join(EMBEDDED_ROOT, folder)}`);
    const builds = [
      { build: "Debian's libwolfssl.so 5.5.4", sizeFlags: [...C_FLAGS, ...includes] },
      { build: 'device configuration (size/user_settings.h), host build', sizeFlags: [...C_FLAGS, ...includes, ...deviceWolfssl.cflags] },
    ];
    const figures: HostFigures[] = [];
    for (const [index, { build, sizeFlags }] of builds.entries()) {
      const computation = await startSortComputation();
      try {
        const header = join(work, `policy-${index}.h`);
        await writeFile(header, policyFactsHeader(await parsePolicy(computation.policyText), { identity: 1 }));
        const binary = index === 0 ? await buildEmbeddedCli({ policyHeader: header, chunkBytes: 4096 }) : await deviceConfigurationCli(deviceWolfssl, header, work);
        const sessions = await hostSessions(binary, painter, computation, work);
        figures.push({ build, sessionBytes: await sessionSize('cc', sizeFlags, work), sessions });
      } finally {
        await computation.server.close().catch(() => {});
        await computation.pas.close();
      }
    }
    return figures;
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** The report: one table. */
function report(m4: CortexM4Figures[], hosts: HostFigures[] | string): void {
  const bytes = (value: number | undefined): string => (value === undefined ? '' : `${value} B (${(value / KIB).toFixed(1)} KiB)`);
  const met = (ok: boolean): string => (ok ? 'met' : 'NOT met');
  const row = (name: string, figures: { flash?: number; ram?: number; heap?: number; stack?: number }, goal = ''): void =>
    console.log(`| ${name} | ${bytes(figures.flash)} | ${bytes(figures.ram)} | ${bytes(figures.heap)} | ${bytes(figures.stack)} | ${goal} |`);
  const heading = (name: string): void => console.log(`| **${name}** | | | | | |`);
  const first = m4[0]!;
  console.log(`Cortex-M4: ${run(`${CROSS}gcc`, ['-dumpfullversion']).trim()} ${M4_FLAGS.join(' ')}, ${M4_LINK.join(' ')}; ` +
    `wolfSSL ${WOLFSSL.version} (Debian's source) with size/user_settings.h; a stub main calls the whole API over a platform layer that does nothing`);
  console.log('| figure | flash | static RAM | wolfSSL heap peak | stack peak | goal |');
  console.log('|---|---:|---:|---:|---:|---|');
  for (const figures of m4) {
    const client = figures.parts.get('client')!;
    const wolfssl = figures.parts.get('wolfSSL')!;
    heading(`Cortex-M4, ${figures.variant}`);
    if (figures === first) {
      row(`client's own code as linked (${CLIENT_SOURCES.map((file) => basename(file)).join(', ')})`, client,
        `< 16 KiB flash: ${met(client.flash < GOAL_CLIENT_FLASH)}`);
      row("client's objects, every function (arm-none-eabi-size: text+data, data+bss)",
        { flash: figures.clientObjects.text + figures.clientObjects.data, ram: figures.clientObjects.data + figures.clientObjects.bss });
      row(`client's vc_session (the caller's: VC_CHUNK_BYTES 4096), in the stub main's .bss`, { ram: figures.sessionBytes });
    }
    row(`wolfSSL ${WOLFSSL.version}, TLS 1.3 client`, wolfssl);
    row('C library (newlib-nano, libgcc, startup files)', figures.parts.get('C library')!);
    row("stub main (with its vc_session), stub platform, wolfSSL's time and random glue", figures.parts.get('stubs and port')!);
    row('whole image', figures.total);
    console.log(`| client's flash / wolfSSL's flash | ${(client.flash / wolfssl.flash).toFixed(3)} | | | | |`);
  }
  if (typeof hosts === 'string') {
    heading(`host sessions: ${hosts}`);
  } else {
    for (const { build, sessionBytes, sessions } of hosts) {
      heading(`host x86-64, vc-embedded with ${build}: one whole session per command`);
      for (const session of sessions) row(`${session.command} (${session.heapAllocations} wolfSSL allocations)`, { heap: session.heapPeak, stack: session.stackPeak });
      const heap = Math.max(...sessions.map((session) => session.heapPeak));
      const stack = Math.max(...sessions.map((session) => session.stackPeak));
      const total = sessionBytes + heap + stack;
      row('whole session, worst command: sizeof(vc_session) + heap peak + stack peak', { ram: sessionBytes, heap, stack },
        `${bytes(total)} < 64 KiB RAM: ${met(total < GOAL_SESSION_RAM)}`);
      if (build.startsWith('device')) {
        const deviceTotal = first.total.ram + heap + stack;
        row("device estimate: the Cortex-M4 image's static RAM + this build's heap and stack peaks", { ram: first.total.ram, heap, stack },
          `${bytes(deviceTotal)} < 64 KiB RAM: ${met(deviceTotal < GOAL_SESSION_RAM)}`);
      }
    }
  }
  console.log(`the client's own objects call from the C library: ${first.clientLibc.join(', ')} (no allocator)`);
  console.log("Debian's libwolfssl is a desktop build (FP_ECC fixed-point tables, FP_MAX_BITS 8192, the OpenSSL layer): no device's configuration");
  console.log('stack peak: the main thread from the process entry, so main, the CLI and the C library (getaddrinfo, stdio) count too;');
  console.log('host figures are x86-64 (8-byte pointers, glibc): an estimate for a device, not a measurement on one');
}

/** Fails early, saying what to install, when the Arm toolchain or newlib-nano is missing. */
function checkCrossToolchain(): void {
  const setup = 'install gcc-arm-none-eabi and libnewlib-arm-none-eabi (scripts/setup-system.sh, as root)';
  const probe = spawnSync(`${CROSS}gcc`, [...M4_FLAGS, ...M4_LINK, '-print-file-name=libc_nano.a'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`no ${CROSS}gcc (${probe.error.message}): ${setup}`);
  if (probe.status !== 0 || !existsSync(probe.stdout.trim())) throw new Error(`${CROSS}gcc has no newlib-nano (${probe.stderr.trim() || 'libc_nano.a not found'}): ${setup}`);
}

checkCrossToolchain();
const source = await wolfsslSource();
const m4Variants = [
  { variant: 'TLS_CHACHA20_POLY1305_SHA256 (policy default)', name: 'm4-chacha', defines: [] as string[] },
  { variant: 'TLS_AES_128_GCM_SHA256 instead', name: 'm4-aesgcm', defines: ['-DVC_SIZE_AES_GCM'] },
];
const m4: CortexM4Figures[] = [];
for (const { variant, name, defines } of m4Variants) {
  const flags = [...M4_FLAGS, ...defines];
  const wolfssl = await buildWolfssl(source, name, `${CROSS}gcc`, `${CROSS}ar`, flags);
  m4.push(await cortexM4(wolfssl, name, variant, flags));
}
let hosts: HostFigures[] | string;
if (process.env['EMBEDDED_SIZE_HOST'] === '0') {
  hosts = 'skipped (EMBEDDED_SIZE_HOST=0)';
} else {
  try {
    hosts = await host(source);
  } catch (reason) {
    // The Cortex-M4 figures stand on their own; say what failed instead of a figure.
    console.error(reason);
    hosts = `FAILED: ${String(reason instanceof Error ? reason.message : reason).split('\n')[0]}`;
    process.exitCode = 1;
  }
}
report(m4, hosts);
