import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type FileRights, type Policy, RIGHTS_READ, RIGHTS_WRITE } from '@veracruz-ts/policy';
import { Errno } from '../vfs/errno.ts';
import { PROGRAM_SUBJECT, RightsInForce } from './rights-in-force.ts';

const RW = RIGHTS_READ | RIGHTS_WRITE;

/** The parts of a policy RightsInForce reads: principals (certificate identities and isolates) and programs. */
function policy(): Policy {
  const principal = (id: number, file_rights: FileRights[]) => ({ id, file_rights });
  return {
    identities: [principal(0, [{ file_name: '/output/', rights: RW }, { file_name: '/output/deep/x', rights: RIGHTS_WRITE }, { file_name: 'stdout', rights: RIGHTS_READ }])],
    isolate_principals: [principal(7, [{ file_name: '/output/', rights: RIGHTS_READ }])],
    programs: [{ program_file_name: '/program/p.wasm', id: 0, file_rights: [{ file_name: '/', rights: RW }, { file_name: 'stdout', rights: RIGHTS_WRITE }] }],
  } as unknown as Policy;
}

describe('RightsInForce', () => {
  it('counts isolates admitted as principals among the subjects and readers, and narrows them', () => {
    const rights = new RightsInForce(policy());
    assert.deepEqual(rights.subjects(), [0, 7, PROGRAM_SUBJECT]);
    assert.deepEqual(rights.readers('/output/result'), [0, 7]);
    assert.equal(rights.narrow(7, '/output/result', 0, '/program/p.wasm'), Errno.SUCCESS);
    assert.deepEqual(rights.readers('/output/result'), [0]);
    assert.equal(rights.rightsOf(7, '/output/other'), RIGHTS_READ);
    assert.equal(rights.rightsOf(9, '/output/result'), undefined);
    assert.equal(rights.narrow(9, '/output/result', 0, 'p'), Errno.NOENT);
  });

  it('never widens: a bit the subject lacks there is refused and nothing changes', () => {
    const rights = new RightsInForce(policy());
    assert.equal(rights.narrow(7, '/output/', RW, 'p'), Errno.PERM);
    assert.equal(rights.rightsOf(7, '/output/x'), RIGHTS_READ);
    assert.deepEqual(rights.narrowings, []);
  });

  it('caps what is below the path, leaves the std streams alone, and records each narrowing', () => {
    const state = policy();
    const rights = new RightsInForce(state);
    assert.equal(rights.narrow(0, '/', RIGHTS_READ, '/program/p.wasm'), Errno.PERM, 'no rights on / itself: reading it would widen them');
    assert.equal(rights.narrow(0, '/output', RIGHTS_READ, '/program/p.wasm'), Errno.SUCCESS);
    assert.equal(rights.rightsOf(0, '/output/a'), RIGHTS_READ);
    assert.equal(rights.rightsOf(0, '/output/deep/x'), RIGHTS_WRITE & RIGHTS_READ, 'a deeper entry keeps no more than the path');
    assert.equal(rights.narrow(PROGRAM_SUBJECT, '/input', 0, '/program/p.wasm'), Errno.SUCCESS);
    assert.deepEqual([rights.rightsOf(PROGRAM_SUBJECT, '/input/a'), rights.rightsOf(PROGRAM_SUBJECT, '/output/a')], [0, RW]);
    assert.equal(rights.narrow(PROGRAM_SUBJECT, '/', RIGHTS_READ, '/program/p.wasm'), Errno.SUCCESS);
    assert.deepEqual([rights.rightsOf(PROGRAM_SUBJECT, '/input/a'), rights.rightsOf(PROGRAM_SUBJECT, '/output/a')], [0, RIGHTS_READ]);
    assert.equal(rights.rightsOf(PROGRAM_SUBJECT, 'stdout'), RIGHTS_WRITE, 'a std stream is below no path');
    assert.equal(state.programs[0]?.file_rights.length, 3, "the program's own rights array holds the narrowing");
    assert.deepEqual(rights.narrowings.map(({ subject, path, before, after }) => [subject, path, before, after]),
      [[0, '/output', RW, RIGHTS_READ], [PROGRAM_SUBJECT, '/input', RW, 0], [PROGRAM_SUBJECT, '/', RW, RIGHTS_READ]]);
    const report = JSON.parse(Buffer.from(rights.report()).toString()) as { subjects: { subject: number }[]; narrowings: unknown[] };
    assert.deepEqual(report.subjects.map(({ subject }) => subject), [0, 7, PROGRAM_SUBJECT]);
    assert.equal(report.narrowings.length, 3);
  });

  it('keeps at most 1024 narrowings a computation', () => {
    const rights = new RightsInForce(policy());
    for (let index = 0; index < 1024; index++) assert.equal(rights.narrow(0, `/output/${index}`, 0, 'p'), Errno.SUCCESS);
    assert.equal(rights.narrow(0, '/output/more', 0, 'p'), Errno.NOSPC);
    assert.equal(rights.rightsOf(0, '/output/more'), RW);
  });
});
