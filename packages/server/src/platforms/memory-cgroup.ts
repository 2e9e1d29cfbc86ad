import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/** A memory cgroup made for one process, and how to remove it once the process is gone. */
export interface MemoryCgroup {
  /** Which controller holds the limit: `cgroup v2` or `cgroup v1`. */
  kind: 'cgroup v2' | 'cgroup v1';
  /** The cgroup's directory. */
  path: string;
  /** The limit written, in bytes. */
  limitBytes: number;
  /** Moves a process into it (before it allocates much). */
  add(pid: number): Promise<void>;
  /** Whether the kernel killed a process of it for exceeding the limit. */
  oomKilled(): Promise<boolean>;
  /** Removes the (empty) cgroup. */
  remove(): Promise<void>;
}

/** Where a process sits in the cgroup v2 hierarchy and the v1 memory hierarchy, from its /proc/PID/cgroup. */
export function ownCgroups(procSelfCgroup: string): { v2?: string; v1Memory?: string } {
  const found: { v2?: string; v1Memory?: string } = {};
  for (const line of procSelfCgroup.split('\n')) {
    const [, controllers, path] = /^\d+:([^:]*):(.*)$/.exec(line) ?? [];
    if (path === undefined) continue;
    if (controllers === '') found.v2 = path;
    else if (controllers?.split(',').includes('memory')) found.v1Memory = path;
  }
  return found;
}

/** A mountinfo path field: octal escapes (`\040` for a space) decoded. */
function decodeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(Number.parseInt(octal, 8)));
}

/**
 * Where a cgroup hierarchy (`cgroup2`, or v1 with the memory controller) is mounted, from
 * /proc/PID/mountinfo: the mount point, and the hierarchy's path that is mounted there (not `/` inside
 * some containers).
 */
export function mountPoint(mountinfo: string, v2: boolean): { point: string; root: string } | undefined {
  for (const line of mountinfo.split('\n')) {
    const [before, after] = line.split(' - ');
    if (before === undefined || after === undefined) continue;
    const [fsType, , options = ''] = after.split(' ');
    const fields = before.split(' ');
    const root = fields[3];
    const point = fields[4];
    if (root === undefined || point === undefined) continue;
    if ((v2 && fsType === 'cgroup2') || (!v2 && fsType === 'cgroup' && options.split(',').includes('memory'))) {
      return { point: decodeMountField(point), root: decodeMountField(root) };
    }
  }
  return undefined;
}

/** The directory of the cgroup at `path` in a hierarchy mounted as `mount`, or undefined if not visible there. */
function cgroupDirectory(mount: { point: string; root: string }, path: string): string | undefined {
  if (mount.root === '/') return join(mount.point, path);
  if (path !== mount.root && !path.startsWith(`${mount.root}/`)) return undefined;
  return join(mount.point, path.slice(mount.root.length));
}

/**
 * Creates a memory cgroup of `limitBytes` (named `name`, which should be unique: it is never taken
 * over or removed if it exists) as a child of this process's own, where the
 * machine lets this process do so: cgroup v2 when its cgroup delegates the memory controller, else
 * the cgroup v1 memory controller. Returns undefined, with the reason, when neither is writable
 * (containers without delegation, unprivileged users): the caller then relies on its other limits.
 */
export async function createMemoryCgroup(name: string, limitBytes: number): Promise<MemoryCgroup | { unavailable: string }> {
  let procCgroup: string;
  let mountinfo: string;
  try {
    procCgroup = readFileSync('/proc/self/cgroup', 'utf8');
    mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  } catch {
    return { unavailable: 'no /proc/self/cgroup' };
  }
  const own = ownCgroups(procCgroup);
  const reasons: string[] = [];

  const v2Mount = mountPoint(mountinfo, true);
  const v2Parent = own.v2 === undefined || v2Mount === undefined ? undefined : cgroupDirectory(v2Mount, own.v2);
  if (v2Parent !== undefined) {
    const parent = v2Parent;
    const controllers = existsSync(join(parent, 'cgroup.subtree_control')) ? await readFile(join(parent, 'cgroup.subtree_control'), 'utf8').catch(() => '') : '';
    if (controllers.split(/\s+/).includes('memory')) {
      const path = join(parent, name);
      let made = false;
      try {
        await mkdir(path);
        made = true;
        await writeFile(join(path, 'memory.max'), String(limitBytes));
        await writeFile(join(path, 'memory.swap.max'), '0').catch(() => {});
        return cgroup('cgroup v2', path, limitBytes, async () => /oom_kill [1-9]/.test(await readFile(join(path, 'memory.events'), 'utf8').catch(() => '')));
      } catch (error) {
        if (made) await rmdir(path).catch(() => {});
        reasons.push(`cgroup v2: ${(error as Error).message}`);
      }
    } else {
      // cgroup v2 lets a cgroup with processes in it enable no controller for its children.
      reasons.push('cgroup v2: the memory controller is not enabled for child cgroups of this process\'s cgroup');
    }
  }

  const v1Mount = mountPoint(mountinfo, false);
  const v1Parent = own.v1Memory === undefined || v1Mount === undefined ? undefined : cgroupDirectory(v1Mount, own.v1Memory);
  if (v1Parent !== undefined) {
    const path = join(v1Parent, name);
    let made = false;
    try {
      await mkdir(path);
      made = true;
      await writeFile(join(path, 'memory.limit_in_bytes'), String(limitBytes));
      // Count swap too where the kernel accounts it, and move charges made before the move.
      await writeFile(join(path, 'memory.memsw.limit_in_bytes'), String(limitBytes)).catch(() => {});
      await writeFile(join(path, 'memory.move_charge_at_immigrate'), '3').catch(() => {});
      return cgroup('cgroup v1', path, limitBytes, async () => /oom_kill [1-9]/.test(await readFile(join(path, 'memory.oom_control'), 'utf8').catch(() => '')));
    } catch (error) {
      if (made) await rmdir(path).catch(() => {});
      reasons.push(`cgroup v1: ${(error as Error).message}`);
    }
  } else if (reasons.length === 0) {
    reasons.push('no memory cgroup hierarchy is mounted');
  }
  return { unavailable: reasons.join('; ') };
}

function cgroup(kind: MemoryCgroup['kind'], path: string, limitBytes: number, oomKilled: () => Promise<boolean>): MemoryCgroup {
  return {
    kind, path, limitBytes, oomKilled,
    add: (pid) => writeFile(join(path, 'cgroup.procs'), String(pid)),
    // The kernel removes a cgroup only once its last process is gone; a process still exiting is retried briefly.
    remove: async () => {
      for (let attempt = 0; attempt < 20; attempt++) {
        try {
          await rmdir(path);
          return;
        } catch (error) {
          if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
      }
    },
  };
}
