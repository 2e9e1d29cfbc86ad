import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync } from 'node:fs';
import { describe, it } from 'node:test';
import { createMemoryCgroup, mountPoint, ownCgroups } from './memory-cgroup.ts';

describe('memory cgroup for the linux isolate', () => {
  it('finds this process\'s cgroups and the hierarchies\' mount points', () => {
    const procCgroup = '9:name=systemd:/\n4:memory:/jobs/abc\n1:cpu,cpuacct:/\n0::/user.slice/session-1.scope\n';
    assert.deepEqual(ownCgroups(procCgroup), { v2: '/user.slice/session-1.scope', v1Memory: '/jobs/abc' });
    const mountinfo = [
      '34 30 0:31 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory',
      '35 30 0:32 / /sys/fs/cgroup/devices rw,relatime - cgroup cgroup rw,devices',
      '40 30 0:37 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw',
    ].join('\n');
    assert.deepEqual(mountPoint(mountinfo, false), { point: '/sys/fs/cgroup/memory', root: '/' });
    assert.deepEqual(mountPoint(mountinfo, true), { point: '/sys/fs/cgroup/unified', root: '/' });
    assert.equal(mountPoint('35 30 0:32 / /sys/fs/cgroup/devices rw - cgroup cgroup rw,devices', false), undefined);
    // Inside a container the hierarchy's own path may be mounted, and paths are octal-escaped.
    assert.deepEqual(mountPoint('50 40 0:27 /kubepods/pod\\0401 /sys/fs/cgroup rw - cgroup2 cgroup2 rw', true), { point: '/sys/fs/cgroup', root: '/kubepods/pod 1' });
  });

  it('kills a process that exceeds the limit and says so, then removes the cgroup', async (t) => {
    const cgroup = await createMemoryCgroup(`veracruz-test-${process.pid}-${Date.now()}`, 96 * 1024 * 1024);
    if ('unavailable' in cgroup) {
      t.skip(`skipped: this host gives no writable memory cgroup (${cgroup.unavailable})`);
      return;
    }
    // A child that waits to be moved, then touches 512 MiB.
    const child = spawn(process.execPath, ['-e', 'process.stdin.once("data", () => { const kept = []; for (let i = 0; i < 64; i++) kept.push(Buffer.alloc(8 << 20, 1)); console.log("survived"); })'], { stdio: ['pipe', 'pipe', 'inherit'] });
    try {
      await cgroup.add(child.pid!);
      let output = '';
      child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
      child.stdin.write('go\n');
      const [code, signal] = (await once(child, 'exit')) as [number | null, string | null];
      assert.equal(output, '', 'the child did not get its 512 MiB');
      assert.equal(signal, 'SIGKILL', `exit code ${code}`);
      assert.equal(await cgroup.oomKilled(), true);
    } finally {
      child.kill('SIGKILL');
      await cgroup.remove();
    }
    assert.equal(existsSync(cgroup.path), false);
  });
});
