/** Interval and pass@k statistics for probe scores, each checked against hand-computed values. */

export class ProbeStatsError extends Error {
  override name = 'ProbeStatsError';
}

/**
 * Wilson score interval for a proportion `successes / n` (successes may be fractional, e.g. an
 * Avg@k total). z = 1.96 gives 95%. With n = 0 the proportion is unknown: [0, 1].
 */
export function wilson(successes: number, n: number, z = 1.96): { lo: number; hi: number } {
  if (n < 0 || successes < 0 || successes > n + 1e-9) throw new ProbeStatsError(`wilson: need 0 <= successes <= n, got ${successes}/${n}.`);
  if (n === 0) return { lo: 0, hi: 1 };
  const p = Math.min(1, successes / n);
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z / denom) * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n));
  return { lo: Math.max(0, centre - half), hi: Math.min(1, centre + half) };
}

/**
 * Unbiased pass@k from n samples of which c are correct: 1 − C(n−c, k) / C(n, k)
 * (Chen et al., 2021), computed as a running product so large n does not overflow.
 */
export function passAtK(n: number, c: number, k: number): number {
  if (!Number.isInteger(n) || !Number.isInteger(c) || !Number.isInteger(k) || n < 1 || c < 0 || c > n || k < 1 || k > n) {
    throw new ProbeStatsError(`passAtK: need integers 0 <= c <= n and 1 <= k <= n, got n=${n}, c=${c}, k=${k}.`);
  }
  if (n - c < k) return 1;
  let prod = 1;
  for (let i = n - c + 1; i <= n; i++) prod *= 1 - k / i;
  return 1 - prod;
}
