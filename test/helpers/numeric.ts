/** Float64 helpers the numeric tests share: random inputs, central differences, the largest difference. */
import type { Rng } from '../../src/core/rng';

/** n uniform values in (−scale, scale). */
export function randomArray(n: number, rng: Rng, scale = 1): Float64Array {
  return Float64Array.from({ length: n }, () => (rng.next() * 2 - 1) * scale);
}

/** ∂f/∂x by central differences of step h, one coordinate at a time (x is restored). */
export function centralDiff(f: (x: Float64Array) => number, x: Float64Array, h: number): Float64Array {
  const g = new Float64Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const v = x[i]!;
    x[i] = v + h;
    const up = f(x);
    x[i] = v - h;
    const down = f(x);
    x[i] = v;
    g[i] = (up - down) / (2 * h);
  }
  return g;
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
