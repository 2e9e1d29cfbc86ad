import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { findStream, streamWriters } from './policy-lookup.ts';
import { parsePolicy } from './policy-parse.ts';
import { unknownTopLevelKeys } from './unknown-keys.ts';
import { AT, examplePolicy, parse, rejects } from './test-fixture.ts';

test('a policy without streams has none, and loads and hashes as before', async () => {
  const text = JSON.stringify(examplePolicy(), null, 2);
  const policy = await parsePolicy(text, { at: AT });
  assert.deepEqual(policy.streams, []);
  assert.equal(findStream(policy, '/s3_app_input/a'), undefined);
  assert.equal(policy.hash, createHash('sha256').update(text).digest('hex'));
  assert.equal(Object.hasOwn(policy.unknownFields, 'streams'), false);
});

test('reads streams with their defaults, normalised paths, and the hash of the exact bytes', async () => {
  const value = examplePolicy();
  value['streams'] = [
    { path: '/s3_app_input/readings', deadline_ms: 600_000, max_buffered_bytes: 1024, on_writer_disconnect: 'close' },
    { path: '/output//./live/../results' },
    { path: '/user_input/feed', on_writer_disconnect: 'wait', note: 'from the sensor' },
  ];
  const text = JSON.stringify(value, null, 2);
  const policy = await parsePolicy(text, { at: AT });
  assert.deepEqual(policy.streams, [
    { path: '/s3_app_input/readings', deadline_ms: 600_000, max_buffered_bytes: 1024, on_writer_disconnect: 'close' },
    { path: '/output/results', max_buffered_bytes: 8_388_608, on_writer_disconnect: 'abort' },
    { path: '/user_input/feed', max_buffered_bytes: 8_388_608, on_writer_disconnect: 'wait' },
  ]);
  assert.equal(policy.hash, createHash('sha256').update(text).digest('hex'));
  // An unknown field of an entry is kept by path, as elsewhere; `streams` itself is known.
  assert.deepEqual(policy.unknownFields['streams[2].note'], 'from the sensor');
  assert.deepEqual(unknownTopLevelKeys(policy), ['runtime_manager_hash_sgx', 'runtime_manager_hash_tz']);
});

test('findStream matches the normalised path exactly, never a prefix or a std stream', async () => {
  const value = examplePolicy();
  value['streams'] = [{ path: '/s3_app_input/readings' }];
  const policy = await parse(value);
  assert.equal(findStream(policy, 's3_app_input//readings')?.path, '/s3_app_input/readings');
  assert.equal(findStream(policy, '/s3_app_input/x/../readings')?.path, '/s3_app_input/readings');
  assert.equal(findStream(policy, '/s3_app_input/readings/more'), undefined);
  assert.equal(findStream(policy, '/s3_app_input'), undefined);
  assert.equal(findStream(policy, '/s3_app_input/readings2'), undefined);
  assert.equal(findStream(policy, 'stdin'), undefined);
});

test('malformed streams are refused naming the field and the reason', async () => {
  await rejects((p) => (p['streams'] = {}), 'streams: expected an array, got an object');
  await rejects((p) => (p['streams'] = null), 'streams: expected an array, got null');
  await rejects((p) => (p['streams'] = ['/a']), 'streams[0]: expected an object, got "/a"');
  await rejects((p) => (p['streams'] = [{ deadline_ms: 5 }]), 'streams[0].path: missing');
  await rejects((p) => (p['streams'] = [{ path: 7 }]), 'streams[0].path: expected a string, got 7');
  await rejects((p) => (p['streams'] = [{ path: ' ' }]), 'streams[0].path: must not be empty');
  await rejects((p) => (p['streams'] = [{ path: 'input/a' }]), 'streams[0].path: expected an absolute file path, got "input/a"');
  await rejects((p) => (p['streams'] = [{ path: 'stdin' }]), 'streams[0].path: stdin is a standard stream; a policy stream is a file path');
  await rejects((p) => (p['streams'] = [{ path: '/input/' }]), 'streams[0].path: "/input/" names a directory (trailing /); a stream is a file');
  await rejects((p) => (p['streams'] = [{ path: '/a/..' }]), 'streams[0].path: "/a/.." is the root directory; a stream is a file');
  await rejects((p) => (p['streams'] = [{ path: '/a\0b' }]), 'streams[0].path: contains a NUL character');
  await rejects((p) => (p['streams'] = [{ path: '/a' }, { path: '/a', deadline_ms: 0 }]), 'streams[1].deadline_ms: 0 is out of range (1 to 9007199254740991)');
  await rejects((p) => (p['streams'] = [{ path: '/a', deadline_ms: 1.5 }]), 'streams[0].deadline_ms: expected an integer, got 1.5');
  await rejects((p) => (p['streams'] = [{ path: '/a', deadline_ms: '60000' }]), 'streams[0].deadline_ms: expected an integer, got "60000"');
  await rejects((p) => (p['streams'] = [{ path: '/a', max_buffered_bytes: -1 }]), 'streams[0].max_buffered_bytes: -1 is out of range (1 to 9007199254740991)');
  await rejects((p) => (p['streams'] = [{ path: '/a', max_buffered_bytes: null }]), 'streams[0].max_buffered_bytes: expected an integer, got null');
  await rejects((p) => (p['streams'] = [{ path: '/a', on_writer_disconnect: 'Abort' }]), 'streams[0].on_writer_disconnect: expected "abort", "close" or "wait", got "Abort"');
  await rejects((p) => (p['streams'] = [{ path: '/a', on_writer_disconnect: null }]), 'streams[0].on_writer_disconnect: expected "abort", "close" or "wait", got null');
});

test('a path given twice, or under another stream, is refused', async () => {
  await rejects((p) => (p['streams'] = [{ path: '/a/b' }, { path: '/c' }, { path: '/a//b/.' }]), 'streams[2].path: /a/b is already a stream in streams[0].path');
  await rejects((p) => (p['streams'] = [{ path: '/a' }, { path: '/a/b' }]), 'streams[0].path: /a is a directory of streams[1].path (/a/b); a stream is a file');
  await rejects((p) => (p['streams'] = [{ path: '/a/b/c' }, { path: '/a/b' }]), 'streams[1].path: /a/b is a directory of streams[0].path (/a/b/c); a stream is a file');
  // Sharing a name's start is not being under it.
  const value = examplePolicy();
  value['streams'] = [{ path: '/a' }, { path: '/ab' }, { path: '/a.b' }];
  assert.deepEqual((await parse(value)).streams.map((stream) => stream.path), ['/a', '/ab', '/a.b']);
});

test('the writers of a stream are the identities with FD_WRITE on its path', async () => {
  const value = examplePolicy();
  value['identities'][1].file_rights.push({ file_name: '/s3_app_input/readings', rights: 24582 });
  const policy = await parse(value);
  // #0 writes /s3_app_input/; #1's own entry for the file grants only reading.
  assert.deepEqual(streamWriters(policy, '/s3_app_input/readings'), [0]);
  assert.deepEqual(streamWriters(policy, '/user_input/feed'), [1]);
  assert.deepEqual(streamWriters(policy, '/output/results'), []);
  assert.deepEqual(streamWriters(policy, '/program_data/x'), [2]);
});
