import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS } from '@veracruz-ts/policy';
import { MemoryBudget } from '../budget/memory-budget.ts';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { encodeAesCtrRequest } from '../services/aes-services.ts';
import { DEFAULT_SERVICES } from '../services/registry.ts';
import { VirtualFileSystem } from './file-system.ts';
import { SealedStore } from './sealed-store.ts';
import { SlabPager } from './slab-pager.ts';

const MIB = 1024 * 1024;
const ROOT = [{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }, { file_name: 'stderr', rights: ALL_RIGHTS }];

/** Writes its stdin (a service request) to the service file argv[1] in one write(). */
const WRITER = `
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, stdin);
  int fd = open(argv[1], O_WRONLY);
  if (fd < 0) return 1;
  write(fd, buf, n);
  return 0;
}`;

const directories: string[] = [];
let engine: ExecutionEngine;
let writer: Uint8Array;
before(async () => {
  engine = new ExecutionEngine();
  writer = await compileC(WRITER);
});
after(async () => {
  await engine.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

/** A file system with sealed storage whose /input/big.bin is mostly sealed out, then forged by the host. */
function forged() {
  const directory = mkdtempSync(join(tmpdir(), 'sealed-services-'));
  directories.push(directory);
  const budget = new MemoryBudget(16 * MIB, 0);
  const pager = new SlabPager(new SealedStore({ directory, maxBytes: 1 << 30 }), 4 * MIB);
  const vfs = new VirtualFileSystem({ services: DEFAULT_SERVICES, budget, pager });
  const root = vfs.view(ROOT);
  root.writeFile('/input/big.bin', randomBytes(12 * MIB));
  for (const name of readdirSync(directory)) {
    const host = readFileSync(join(directory, name));
    host[5] = (host[5] as number) ^ 1;
    writeFileSync(join(directory, name), host);
  }
  const request = encodeAesCtrRequest({ key: randomBytes(16), iv: randomBytes(16), inputPath: '/input/big.bin', outputPath: '/output/ct.bin', isEncryption: true });
  return { vfs, root, request };
}

describe('native services over sealed data the host forged', () => {
  it('a principal whose request reads it gets integrity_violation naming the file', () => {
    const { root, request } = forged();
    assert.throws(() => root.writeFile('/services/aesctr.dat', request),
      (error: unknown) => error instanceof VeracruzError && error.code === Code.IntegrityViolation && /\/input\/big\.bin/.test(error.message));
    assert.throws(() => root.readFile('/output/ct.bin'), /no such file|not_found/);
  });

  it("a program whose request reads it has its run end as an integrity violation, whatever it exits with", async () => {
    const { vfs, root, request } = forged();
    root.writeFile('stdin', request);
    const outcome = await engine.execute({ vfs, program: writer, rights: ROOT, args: ['/services/aesctr.dat'] });
    assert.equal(outcome.kind, 'integrity');
    assert.match((outcome as { message: string }).message, /\/input\/big\.bin/);
  });
});
