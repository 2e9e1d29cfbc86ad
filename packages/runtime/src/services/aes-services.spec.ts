import assert from 'node:assert/strict';
import { createCipheriv, randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { Code, VeracruzError } from '@veracruz-ts/core';
import { ALL_RIGHTS, RIGHTS_READ } from '@veracruz-ts/policy';
import { compileC } from '../engine/compile-c.ts';
import { ExecutionEngine } from '../engine/engine.ts';
import { VirtualFileSystem } from '../vfs/file-system.ts';
import { encodeAeadRequest, encodeAesCtrRequest, parseAeadRequest } from './aes-services.ts';
import { DEFAULT_SERVICES } from './registry.ts';

const key = randomBytes(16);
const iv = randomBytes(16);
const plain = randomBytes(100_000);
const ROOT = [{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }, { file_name: 'stderr', rights: ALL_RIGHTS }];

/** Byte equality without a (huge) diff on failure. */
function sameBytes(actual: Uint8Array, expected: Uint8Array): void {
  assert.ok(Buffer.compare(actual, expected) === 0, `bytes differ (lengths ${actual.length} and ${expected.length})`);
}

function fileSystem() {
  const vfs = new VirtualFileSystem({ services: DEFAULT_SERVICES });
  const root = vfs.view(ROOT);
  root.writeFile('/input/plain.bin', plain);
  return { vfs, root };
}

/** A program that writes its stdin (a request) to a service file in one write(). */
const WRITER = `
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
int main(int argc, char **argv) {
  static char buf[4096];
  size_t n = fread(buf, 1, sizeof buf, stdin);
  int fd = open(argv[1], O_WRONLY);
  if (fd < 0) { perror("open"); return 1; }
  ssize_t w = write(fd, buf, n);
  if (w != (ssize_t)n) { perror("write"); return 2; }
  close(fd);
  return 0;
}`;

let engine: ExecutionEngine;
let writer: Uint8Array;
before(async () => {
  engine = new ExecutionEngine();
  writer = await compileC(WRITER);
});
after(() => engine.close());

describe('native services', () => {
  it('AES-CTR encrypts like node:crypto and appends to the output (host write)', () => {
    const { root } = fileSystem();
    root.writeFile('/output/ct.bin', Uint8Array.of(7));
    root.writeFile('/services/aesctr.dat', encodeAesCtrRequest({ key, iv, inputPath: '/input/plain.bin', outputPath: '/output/ct.bin', isEncryption: true }));
    const cipher = createCipheriv('aes-128-ctr', key, iv);
    const ciphertext = Buffer.concat([cipher.update(plain), cipher.final()]);
    sameBytes(root.readFile('/output/ct.bin'), Buffer.concat([Buffer.of(7), ciphertext]));
    root.writeFile('/input/ct.bin', ciphertext);
    root.writeFile('/services/aesctr.dat', encodeAesCtrRequest({ key, iv, inputPath: '/input/ct.bin', outputPath: '/output/back.bin', isEncryption: false }));
    sameBytes(root.readFile('/output/back.bin'), plain);
  });

  it('AEAD round-trips through a program\'s single write, with the tag appended, like node:crypto', async () => {
    const { vfs, root } = fileSystem();
    const aad = Uint8Array.of(1, 2, 3);
    const request = encodeAeadRequest({ key, iv, aad, inputPath: '/input/plain.bin', outputPath: '/output/sealed.bin', isEncryption: true });
    root.writeFile('stdin', request);
    const rights = [{ file_name: '/input', rights: RIGHTS_READ }, { file_name: '/output', rights: ALL_RIGHTS }, { file_name: '/services', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }, { file_name: 'stderr', rights: ALL_RIGHTS }];
    const outcome = await engine.execute({ vfs, program: writer, args: ['/services/aead.dat'], rights });
    assert.deepEqual(outcome, { kind: 'exited', exitCode: 0 }, new TextDecoder().decode(root.readFile('stderr')));
    const cipher = createCipheriv('aes-128-gcm', key, iv);
    cipher.setAAD(aad);
    const expected = Buffer.concat([cipher.update(plain), cipher.final(), cipher.getAuthTag()]);
    sameBytes(root.readFile('/output/sealed.bin'), expected);
    root.writeFile('/services/aead.dat', encodeAeadRequest({ key, iv, aad, inputPath: '/output/sealed.bin', outputPath: '/output/opened.bin', isEncryption: false }));
    sameBytes(root.readFile('/output/opened.bin'), plain);
  });

  it('AEAD decryption with a bad tag fails cleanly and writes nothing', async () => {
    const { vfs, root } = fileSystem();
    const sealed = Buffer.from(plain.subarray(0, 64));
    root.writeFile('/input/forged.bin', sealed);
    const request = encodeAeadRequest({ key, iv, aad: new Uint8Array(0), inputPath: '/input/forged.bin', outputPath: '/output/opened.bin', isEncryption: false });
    assert.throws(() => root.writeFile('/services/aead.dat', request), (error: unknown) => {
      assert.ok(error instanceof VeracruzError);
      assert.equal(error.code, Code.InvalidRequest);
      assert.match(error.rawMessage, /AEAD Service: authentication failed/);
      return true;
    });
    assert.equal(root.exists('/output/opened.bin'), false);
    // Through a program, the write fails with ECANCELED (errno 11) and the program sees it.
    root.writeFile('stdin', request);
    const rights = [{ file_name: '/', rights: ALL_RIGHTS }, { file_name: 'stdin', rights: ALL_RIGHTS }, { file_name: 'stderr', rights: ALL_RIGHTS }];
    const outcome = await engine.execute({ vfs, program: writer, args: ['/services/aead.dat'], rights });
    assert.deepEqual(outcome, { kind: 'exited', exitCode: 2 });
    assert.match(new TextDecoder().decode(root.readFile('stderr')), /write: Operation canceled/);
  });

  it('serves with the writer\'s rights', () => {
    const { vfs } = fileSystem();
    const limited = vfs.view([{ file_name: '/services', rights: ALL_RIGHTS }, { file_name: '/output', rights: ALL_RIGHTS }]);
    assert.throws(
      () => limited.writeFile('/services/aesctr.dat', encodeAesCtrRequest({ key, iv, inputPath: '/input/plain.bin', outputPath: '/output/x', isEncryption: true })),
      /service failed: .*read \/input\/plain\.bin: no right covers this path/,
    );
  });

  it('waits for a complete request and refuses unknown services', () => {
    const full = encodeAeadRequest({ key, iv, aad: Uint8Array.of(9), inputPath: '/a', outputPath: '/b', isEncryption: true });
    assert.equal(parseAeadRequest(full.subarray(0, full.length - 1)), undefined);
    assert.equal(parseAeadRequest(full)?.outputPath, '/b');
    assert.throws(() => new VirtualFileSystem({ services: [{ name: 'Darknet Inference Service', specialFile: '/services/d.dat' }] }), /no such static service/);
  });
});
