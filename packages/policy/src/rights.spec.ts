import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Code, VeracruzError } from '@veracruz-ts/core';
import {
  ALL_RIGHTS,
  Right,
  STD_STREAMS,
  formatUnknownRights,
  hasRights,
  isValidRights,
  missingRights,
  normalizePath,
  resolveRights,
  rightNames,
  type FileRights,
} from './rights.ts';
import { RIGHTS_EXECUTE, RIGHTS_READ, RIGHTS_WRITE, formatRights, parseRights } from './rights-text.ts';

test('the shorthands have Veracruz values and are built from the right bits', () => {
  assert.equal(RIGHTS_READ, 24582);
  assert.equal(RIGHTS_WRITE, 534084);
  assert.equal(RIGHTS_EXECUTE, 536879108);
  assert.equal(RIGHTS_READ, Right.PATH_OPEN | Right.FD_READ | Right.FD_SEEK | Right.FD_READDIR);
  assert.equal(
    RIGHTS_WRITE,
    Right.FD_WRITE | Right.PATH_CREATE_FILE | Right.PATH_FILESTAT_SET_SIZE | Right.FD_SEEK | Right.PATH_OPEN | Right.PATH_CREATE_DIRECTORY,
  );
  assert.equal(RIGHTS_EXECUTE, Right.PATH_OPEN | Right.FD_EXECUTE | Right.FD_SEEK);
  assert.equal(Right.FD_EXECUTE, 1 << 29);
  assert.equal(Right.SOCK_SHUTDOWN, 1 << 28);
  assert.equal(Object.keys(Right).length, 30);
  assert.equal(ALL_RIGHTS, 2 ** 30 - 1);
});

test('parseRights accepts shorthands, their combinations, decimals and names', () => {
  const cases: [string, number][] = [
    ['r', 24582],
    ['w', 534084],
    ['x', 536879108],
    ['rw', 550470],
    ['wx', 537404996],
    ['rx', RIGHTS_READ | RIGHTS_EXECUTE],
    ['rwx', RIGHTS_READ | RIGHTS_WRITE | RIGHTS_EXECUTE],
    ['xwr', RIGHTS_READ | RIGHTS_WRITE | RIGHTS_EXECUTE],
    ['rr', RIGHTS_READ],
    ['0', 0],
    ['536879104', Right.FD_EXECUTE | Right.PATH_OPEN],
    [' 24582 ', 24582],
    [String(ALL_RIGHTS), ALL_RIGHTS],
    ['FD_READ|FD_SEEK', 6],
    ['FD_EXECUTE | PATH_OPEN', 536879104],
  ];
  for (const [text, expected] of cases) assert.equal(parseRights(text), expected, text);
});

test('formatUnknownRights shows the bits from 30 up as unsigned hex, whatever the width', () => {
  assert.equal(formatUnknownRights(2 ** 30), '0x40000000');
  assert.equal(formatUnknownRights(0xffffffff), '0xc0000000');
  assert.equal(formatUnknownRights(2 ** 31 + ALL_RIGHTS), '0x80000000');
  assert.equal(formatUnknownRights(2 ** 40 + 3), '0x10000000000');
  assert.equal(formatUnknownRights(ALL_RIGHTS), '0x0');
});

test('parseRights refuses unknown bits, letters and names with InvalidPolicy', () => {
  const cases: [string, RegExp][] = [
    ['', /expected a combination of r, w, x/],
    ['rwz', /expected a combination/],
    ['r5', /expected a combination/],
    ['-1', /expected a combination/],
    ['1.5', /expected a combination/],
    [String(2 ** 30), /unknown rights bits/],
    ['4294967295', /unknown rights bits/],
    ['99999999999999999999', /unknown rights bits/],
    ['FD_READ|FD_FLY', /unknown right FD_FLY/],
    ['toString', /expected a combination/],
    ['CONSTRUCTOR', /unknown right CONSTRUCTOR/],
  ];
  for (const [text, message] of cases) {
    assert.throws(
      () => parseRights(text),
      (error: unknown) => error instanceof VeracruzError && error.code === Code.InvalidPolicy && message.test(error.rawMessage),
      text,
    );
  }
});

test('isValidRights accepts only unsigned integers made of known bits', () => {
  assert.ok(isValidRights(0));
  assert.ok(isValidRights(ALL_RIGHTS));
  assert.ok(!isValidRights(ALL_RIGHTS + 1));
  assert.ok(!isValidRights(-1));
  assert.ok(!isValidRights(1.5));
  assert.ok(!isValidRights('24582'));
  assert.ok(!isValidRights(null));
});

test('rightNames, missingRights and formatRights name bits', () => {
  assert.deepEqual(rightNames(RIGHTS_READ), ['FD_READ', 'FD_SEEK', 'PATH_OPEN', 'FD_READDIR']);
  assert.deepEqual(rightNames(0), []);
  assert.deepEqual(rightNames(2 ** 30), ['BIT_30']);
  assert.deepEqual(missingRights(RIGHTS_READ, Right.FD_EXECUTE | Right.FD_SEEK), ['FD_EXECUTE']);
  assert.deepEqual(missingRights(RIGHTS_EXECUTE, Right.FD_EXECUTE | Right.FD_SEEK), []);
  assert.deepEqual(missingRights(0, Right.FD_WRITE), ['FD_WRITE']);
  assert.equal(formatRights(0), 'none');
  assert.equal(formatRights(RIGHTS_READ), 'r');
  assert.equal(formatRights(550470), 'rw');
  assert.equal(formatRights(537404996), 'wx');
  assert.equal(formatRights(RIGHTS_READ | Right.FD_TELL), 'r+FD_TELL');
  assert.equal(formatRights(536879104), 'PATH_OPEN|FD_EXECUTE');
});

test('normalizePath makes paths absolute and canonical without escaping the root', () => {
  const cases: [string, string][] = [
    ['/input/a', '/input/a'],
    ['input/a', '/input/a'],
    ['/input/', '/input'],
    ['/input//a///b/', '/input/a/b'],
    ['//input', '/input'],
    ['/input/./a', '/input/a'],
    ['./a', '/a'],
    ['/input/../output/x', '/output/x'],
    ['/../../etc/passwd', '/etc/passwd'],
    ['..', '/'],
    ['../..', '/'],
    ['/a/b/../../..', '/'],
    ['/a/b/..', '/a'],
    ['/', '/'],
    ['', '/'],
    ['.', '/'],
    ['/a/.../b', '/a/.../b'],
    ['/a/..b', '/a/..b'],
    ['stdin', 'stdin'],
    ['stdout', 'stdout'],
    ['stderr', 'stderr'],
    ['/stdout', '/stdout'],
    ['./stdout', '/stdout'],
    ['STDOUT', '/STDOUT'],
    ['/données/é', '/données/é'],
    ['/a b/c', '/a b/c'],
  ];
  for (const [input, expected] of cases) assert.equal(normalizePath(input), expected, JSON.stringify(input));
});

const client: FileRights[] = [
  { file_name: '/input/', rights: RIGHTS_WRITE },
  { file_name: '/output/', rights: RIGHTS_READ },
  { file_name: '/output/private/', rights: 0 },
  { file_name: '/program/', rights: RIGHTS_WRITE | RIGHTS_EXECUTE },
  { file_name: 'stdin', rights: RIGHTS_WRITE },
  { file_name: 'stdout', rights: RIGHTS_READ },
  { file_name: 'data.bin', rights: RIGHTS_READ },
  { file_name: '/café/', rights: RIGHTS_READ },
];

test('resolveRights picks the longest whole-component prefix', () => {
  const cases: [string, string | undefined, number | undefined][] = [
    ['/input/a.dat', '/input', RIGHTS_WRITE],
    ['/input/a/b/c', '/input', RIGHTS_WRITE],
    ['/input', '/input', RIGHTS_WRITE],
    ['/input/', '/input', RIGHTS_WRITE],
    ['input/a', '/input', RIGHTS_WRITE],
    ['/inputs/x', undefined, undefined],
    ['/inpu', undefined, undefined],
    ['/input.dat', undefined, undefined],
    ['/output/result', '/output', RIGHTS_READ],
    ['/output/private/key', '/output/private', 0],
    ['/output/privateer', '/output', RIGHTS_READ],
    ['/input/../output/x', '/output', RIGHTS_READ],
    ['/input/../../output/x', '/output', RIGHTS_READ],
    ['/output/private/../shared', '/output', RIGHTS_READ],
    ['/input/..', undefined, undefined],
    ['//input//x', '/input', RIGHTS_WRITE],
    ['/input/./x', '/input', RIGHTS_WRITE],
    ['/program/a.wasm', '/program', RIGHTS_WRITE | RIGHTS_EXECUTE],
    ['/data.bin', '/data.bin', RIGHTS_READ],
    ['data.bin', '/data.bin', RIGHTS_READ],
    ['/data.bin/inner', '/data.bin', RIGHTS_READ],
    ['stdin', 'stdin', RIGHTS_WRITE],
    ['stdout', 'stdout', RIGHTS_READ],
    ['stderr', undefined, undefined],
    ['/stdout', undefined, undefined],
    ['/', undefined, undefined],
    ['', undefined, undefined],
    ['/café/menu', '/café', RIGHTS_READ],
    // The same name with a combining accent (NFD) is a different path: no silent NFC.
    ['/cafe\u0301/menu', undefined, undefined],
    ['/CAFÉ/menu', undefined, undefined],
  ];
  for (const [path, prefix, rights] of cases) {
    const resolved = resolveRights(client, path);
    assert.equal(resolved?.prefix, prefix, `prefix for ${JSON.stringify(path)}`);
    assert.equal(resolved?.rights, rights, `rights for ${JSON.stringify(path)}`);
  }
});

test('resolveRights reports the entry as written', () => {
  assert.equal(resolveRights(client, '/input/x')?.entry, client[0]);
});

test('a root entry covers everything not covered more specifically', () => {
  const superUser: FileRights[] = [
    { file_name: '/', rights: ALL_RIGHTS },
    { file_name: '/secret', rights: 0 },
  ];
  assert.equal(resolveRights(superUser, '/anything/at/all')?.rights, ALL_RIGHTS);
  assert.equal(resolveRights(superUser, '/')?.prefix, '/');
  assert.equal(resolveRights(superUser, '/secret/x')?.rights, 0);
  assert.equal(resolveRights(superUser, '/secrets')?.rights, ALL_RIGHTS);
  // A root entry is not a std stream entry.
  assert.equal(resolveRights(superUser, 'stdout'), undefined);
});

test('relative, dotted and duplicated entries are normalized; the first of equal prefixes wins', () => {
  const entries: FileRights[] = [
    { file_name: 'input', rights: RIGHTS_READ },
    { file_name: '/input/', rights: RIGHTS_WRITE },
    { file_name: '/a/./b/../c//', rights: RIGHTS_EXECUTE },
    { file_name: '../../etc', rights: RIGHTS_READ },
  ];
  assert.equal(resolveRights(entries, '/input/x')?.rights, RIGHTS_READ);
  assert.equal(resolveRights(entries, '/a/c/d')?.prefix, '/a/c');
  assert.equal(resolveRights(entries, '/a/b/d'), undefined);
  assert.equal(resolveRights(entries, '/etc/x')?.prefix, '/etc');
});

test('no entries means no access, including to std streams', () => {
  for (const name of [...STD_STREAMS, '/x', '/']) assert.equal(resolveRights([], name), undefined);
});

test('hasRights needs every requested bit', () => {
  assert.ok(hasRights(client, '/program/a.wasm', Right.FD_EXECUTE | Right.FD_SEEK));
  assert.ok(!hasRights(client, '/input/a', Right.FD_READ));
  assert.ok(hasRights(client, '/input/a', Right.FD_WRITE));
  assert.ok(!hasRights(client, '/output/private/k', Right.FD_READ));
  assert.ok(!hasRights(client, '/nowhere', 0));
  assert.ok(hasRights(client, '/output/private/k', 0));
});
