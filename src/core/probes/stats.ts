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

/** Two-sided 97.5% quantiles of Student's t for 1..30 degrees of freedom. */
const T975 = [12.7062, 4.3027, 3.1824, 2.7764, 2.5706, 2.4469, 2.3646, 2.306, 2.2622, 2.2281, 2.201, 2.1788, 2.1604, 2.1448, 2.1314, 2.1199, 2.1098, 2.1009, 2.093, 2.086, 2.0796, 2.0739, 2.0687, 2.0639, 2.0595, 2.0555, 2.0518, 2.0484, 2.0452, 2.0423];

/** The 97.5% quantile of Student's t with `df` degrees of freedom (table to 30, then a Cornish–Fisher expansion). */
export function t975(df: number): number {
  if (!Number.isInteger(df) || df < 1) throw new ProbeStatsError(`t975: degrees of freedom must be a positive integer, got ${df}.`);
  if (df <= T975.length) return T975[df - 1]!;
  const z = 1.959964;
  return z + (z ** 3 + z) / (4 * df) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * df * df);
}

export interface MeanInterval {
  mean: number;
  lo: number;
  hi: number;
  /** Sample standard deviation (N − 1) of the values. */
  sd: number;
  n: number;
}

/**
 * 95% t-interval for the mean of `values`, clipped to [min, max]. The values are per-unit means
 * (one per problem for Avg@k, one per seed across runs), so the k samples of one problem count
 * once: their correlation cannot shrink the interval. Fewer than two values: the whole range.
 */
export function meanInterval(values: readonly number[], min = -Infinity, max = Infinity): MeanInterval {
  const n = values.length;
  if (n === 0) return { mean: 0, lo: min, hi: max, sd: 0, n };
  const mean = values.reduce((a, b) => a + b, 0) / n;
  if (n < 2) return { mean, lo: min, hi: max, sd: 0, n };
  const sd = Math.sqrt(values.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1));
  const half = (t975(n - 1) * sd) / Math.sqrt(n);
  return { mean, lo: Math.max(min, mean - half), hi: Math.min(max, mean + half), sd, n };
}

/**
 * Avg@k with its 95% interval, problems as the unit: `perProblem[i]` is the fraction of problem
 * i's k samples that were right. The interval is the t-interval over the per-problem means (a
 * cluster bootstrap would give the same width to first order). When every problem has the same
 * mean (all 0 or all 1, say) the spread is 0 and a t-interval would claim certainty, so the
 * Wilson interval over problems is used instead: it bounds the variance of a [0, 1] mean by p(1 − p).
 */
export function avgAtK(perProblem: readonly number[]): { acc: number; lo: number; hi: number; n: number } {
  const n = perProblem.length;
  if (perProblem.some((v) => v < 0 || v > 1)) throw new ProbeStatsError('avgAtK: per-problem accuracies must lie in [0, 1].');
  if (n === 0) return { acc: 0, lo: 0, hi: 1, n: 0 };
  const m = meanInterval(perProblem, 0, 1);
  if (m.sd === 0) {
    const w = wilson(m.mean * n, n);
    return { acc: m.mean, lo: w.lo, hi: w.hi, n };
  }
  return { acc: m.mean, lo: m.lo, hi: m.hi, n };
}
