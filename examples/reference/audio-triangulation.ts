/**
 * Audio triangulation by search, a different route from the program's algebra and Gauss-Newton.
 *
 * Three devices: the positions heard first by device 1 by c (t_2 - t_1) less than by device 2 form one branch
 * of a hyperbola with foci at the two devices; walking along it (x = a cosh u, y = b sinh u in the branch's own
 * frame) and bisecting every sign change of the mismatch with device 3 finds every position that fits all
 * three readings. The latest-made of them is the answer (the one inside the devices' hull, if any is).
 *
 * More devices: for a trial position s the emission time that best fits is the mean of t_i - |s - p_i| / c,
 * which leaves F(s) = Σ (|s - p_i| - c t_i - mean)², the squared range residuals, as a function of s alone. F is
 * sampled on a grid over the devices' bounding box widened by its size on every side; each grid point no higher
 * than its neighbours starts a Nelder-Mead descent, and the lowest minimum is the least-squares answer.
 */
import { SPEED_OF_SOUND, type DeviceReading, type EventFix } from '../generators/audio-events.ts';

/** Steps along the hyperbola's parameter u in [-U, U] (the branch reaches cosh(12) ≈ 81000 half-spacings out). */
const BRANCH_STEPS = 24000;
const BRANCH_U = 12;

/** Every position (with its emission time) that fits three readings exactly, latest-made first. */
export function exactFixes(devices: readonly [DeviceReading, DeviceReading, DeviceReading]): EventFix[] {
  const [first, second, third] = devices;
  const tMin = Math.min(first.t, second.t, third.t);
  const range = (d: DeviceReading) => SPEED_OF_SOUND * (d.t - tMin);
  const difference12 = range(first) - range(second), difference13 = range(first) - range(third);
  const mx = (first.x + second.x) / 2, my = (first.y + second.y) / 2;
  const half = Math.hypot(second.x - first.x, second.y - first.y) / 2;
  if (half === 0 || Math.abs(difference12) > 2 * half) return [];
  const ex = (second.x - first.x) / (2 * half), ey = (second.y - first.y) / (2 * half);
  const a = difference12 / 2, b = Math.sqrt(Math.max(0, half * half - a * a));
  // Relative to the foci's midpoint, where doubles keep their precision.
  const at = (u: number) => {
    const along = a * Math.cosh(u), across = b * Math.sinh(u);
    return { x: along * ex - across * ey, y: along * ey + across * ex };
  };
  const distance = (p: { x: number; y: number }, d: DeviceReading) => Math.hypot(p.x - (d.x - mx), p.y - (d.y - my));
  const mismatch = (u: number) => {
    const p = at(u);
    return distance(p, first) - distance(p, third) - difference13;
  };
  const fixes: EventFix[] = [];
  const add = (u: number) => {
    const p = at(u);
    const fix = { x: mx + p.x, y: my + p.y, t0: first.t - distance(p, first) / SPEED_OF_SOUND };
    if (!fixes.some((f) => Math.hypot(f.x - fix.x, f.y - fix.y) < 1e-9 * (half + Math.hypot(p.x, p.y)))) fixes.push(fix);
  };
  let previousU = -BRANCH_U, previous = mismatch(previousU);
  for (let step = 1; step <= BRANCH_STEPS; step++) {
    const u = -BRANCH_U + (2 * BRANCH_U * step) / BRANCH_STEPS, value = mismatch(u);
    if (previous === 0) add(previousU);
    else if (Math.sign(value) === -Math.sign(previous)) {
      let low = previousU, high = u;
      for (let i = 0; i < 200 && low < high; i++) {
        const middle = (low + high) / 2;
        if (middle <= low || middle >= high) break;
        if (Math.sign(mismatch(middle)) === Math.sign(previous)) low = middle;
        else high = middle;
      }
      add((low + high) / 2);
    }
    previousU = u;
    previous = value;
  }
  if (previous === 0) add(previousU);
  return fixes.sort((p, q) => q.t0 - p.t0);
}

/** A local minimum of F: the position, its best emission time, and F there (m²). */
export interface Candidate extends EventFix {
  cost: number;
}

const GRID_CELLS = 64;

/** Every distinct local minimum of F found from the grid, lowest first. */
export function leastSquaresCandidates(devices: readonly DeviceReading[]): Candidate[] {
  const xs = devices.map((d) => d.x), ys = devices.map((d) => d.y);
  const [minX, maxX, minY, maxY] = [Math.min(...xs), Math.max(...xs), Math.min(...ys), Math.max(...ys)];
  const size = Math.max(maxX - minX, maxY - minY);
  // Work relative to the box's centre and the earliest time, where doubles keep their precision.
  const cx = (minX + maxX) / 2, cy = (minY + maxY) / 2, tMin = Math.min(...devices.map((d) => d.t));
  const local = devices.map((d) => ({ x: d.x - cx, y: d.y - cy, range: SPEED_OF_SOUND * (d.t - tMin) }));
  const offsets = (x: number, y: number) => local.map((d) => Math.hypot(x - d.x, y - d.y) - d.range);
  const cost = (x: number, y: number) => {
    const e = offsets(x, y);
    const mean = e.reduce((s, v) => s + v, 0) / e.length;
    return e.reduce((s, v) => s + (v - mean) ** 2, 0);
  };

  const half = 1.5 * size, step = (2 * half) / GRID_CELLS;
  const grid: number[][] = [];
  for (let i = 0; i <= GRID_CELLS; i++) {
    grid.push([]);
    for (let j = 0; j <= GRID_CELLS; j++) grid[i]!.push(cost(-half + i * step, -half + j * step));
  }
  const found: { x: number; y: number; cost: number }[] = [];
  for (let i = 0; i <= GRID_CELLS; i++) {
    for (let j = 0; j <= GRID_CELLS; j++) {
      let lowest = true;
      for (let di = -1; di <= 1 && lowest; di++) {
        for (let dj = -1; dj <= 1; dj++) {
          const neighbour = grid[i + di]?.[j + dj];
          if (neighbour !== undefined && neighbour < grid[i]![j]!) lowest = false;
        }
      }
      if (!lowest) continue;
      const minimum = nelderMead(cost, -half + i * step, -half + j * step, step, 1e-12 * size);
      if (!found.some((f) => Math.hypot(f.x - minimum.x, f.y - minimum.y) < 1e-6 * size)) found.push(minimum);
    }
  }
  return found
    .sort((a, b) => a.cost - b.cost)
    .map((m) => {
      const e = offsets(m.x, m.y);
      const mean = e.reduce((s, v) => s + v, 0) / e.length;
      return { x: cx + m.x, y: cy + m.y, t0: tMin - mean / SPEED_OF_SOUND, cost: m.cost };
    });
}

/**
 * The event's position and emission time: with three devices the latest-made position that fits exactly, or
 * undefined if none does; with more, the least-squares fit.
 */
export function triangulate(devices: readonly DeviceReading[]): EventFix | undefined {
  if (devices.length < 3) throw new RangeError(`need at least 3 devices, not ${devices.length}`);
  if (devices.length === 3) return exactFixes(devices as [DeviceReading, DeviceReading, DeviceReading])[0];
  const best = leastSquaresCandidates(devices)[0];
  return best === undefined ? undefined : { x: best.x, y: best.y, t0: best.t0 };
}

/** Nelder-Mead in the plane from a triangle of side `size` at (x, y), restarted until it stays within `tolerance`. */
function nelderMead(f: (x: number, y: number) => number, x: number, y: number, size: number, tolerance: number): { x: number; y: number; cost: number } {
  let best = { x, y, cost: f(x, y) };
  for (let restart = 0; restart < 10; restart++) {
    const simplex = [best, { x: best.x + size, y: best.y }, { x: best.x, y: best.y + size }].map((p) => ({ x: p.x, y: p.y, cost: f(p.x, p.y) }));
    const point = (x: number, y: number) => ({ x, y, cost: f(x, y) });
    for (let iteration = 0; iteration < 10000; iteration++) {
      simplex.sort((a, b) => a.cost - b.cost);
      const [low, mid, high] = simplex as [typeof best, typeof best, typeof best];
      if (Math.max(Math.hypot(mid.x - low.x, mid.y - low.y), Math.hypot(high.x - low.x, high.y - low.y)) < tolerance) break;
      const ox = (low.x + mid.x) / 2, oy = (low.y + mid.y) / 2;
      const reflected = point(2 * ox - high.x, 2 * oy - high.y);
      if (reflected.cost < low.cost) {
        const expanded = point(3 * ox - 2 * high.x, 3 * oy - 2 * high.y);
        simplex[2] = expanded.cost < reflected.cost ? expanded : reflected;
      } else if (reflected.cost < mid.cost) {
        simplex[2] = reflected;
      } else {
        const contracted = point((ox + high.x) / 2, (oy + high.y) / 2);
        if (contracted.cost < high.cost) {
          simplex[2] = contracted;
        } else {
          simplex[1] = point((low.x + mid.x) / 2, (low.y + mid.y) / 2);
          simplex[2] = point((low.x + high.x) / 2, (low.y + high.y) / 2);
        }
      }
    }
    simplex.sort((a, b) => a.cost - b.cost);
    const moved = Math.hypot(simplex[0]!.x - best.x, simplex[0]!.y - best.y);
    best = simplex[0]!;
    if (restart > 0 && moved < tolerance) break;
    size = Math.max(moved, 1000 * tolerance);
  }
  return best;
}
