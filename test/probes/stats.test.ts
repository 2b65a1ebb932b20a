import { describe, expect, it } from 'vitest';
import { passAtK, ProbeStatsError, wilson } from '../../src/core/probes/stats';

function choose(n: number, k: number): number {
  let r = 1;
  for (let i = 0; i < k; i++) r = (r * (n - i)) / (i + 1);
  return r;
}

describe('wilson', () => {
  it('matches hand-computed values', () => {
    const a = wilson(3, 4);
    expect(a.lo).toBeCloseTo(0.30064, 4);
    expect(a.hi).toBeCloseTo(0.95442, 4);
    const b = wilson(0, 10);
    expect(b.lo).toBe(0);
    expect(b.hi).toBeCloseTo(3.8416 / 13.8416, 6); // z²/(n+z²) when p̂ = 0
    expect(wilson(0, 0)).toEqual({ lo: 0, hi: 1 });
  });
  it('endpoints solve the score-test equation |p̂ − p| = z·sqrt(p(1−p)/n)', () => {
    for (const [s, n] of [[1, 3], [7, 20], [2.5, 8], [50, 100], [99, 100]]) {
      const ph = s! / n!;
      for (const p of Object.values(wilson(s!, n!))) {
        expect(Math.abs(ph - p) - 1.96 * Math.sqrt((p * (1 - p)) / n!)).toBeCloseTo(0, 9);
      }
    }
  });
  it('rejects impossible counts', () => {
    expect(() => wilson(5, 4)).toThrow(ProbeStatsError);
  });
});

describe('passAtK', () => {
  it('matches the closed form and a brute-force count over subsets', () => {
    expect(passAtK(5, 2, 2)).toBeCloseTo(0.7, 12);
    expect(passAtK(10, 0, 3)).toBe(0);
    expect(passAtK(10, 10, 3)).toBe(1);
    expect(passAtK(8, 3, 1)).toBeCloseTo(3 / 8, 12);
    for (let n = 1; n <= 8; n++) {
      for (let c = 0; c <= n; c++) {
        for (let k = 1; k <= n; k++) {
          // enumerate all k-subsets of n samples (first c correct) and count those with a correct one
          let hit = 0;
          let total = 0;
          for (let mask = 0; mask < 1 << n; mask++) {
            let bits = 0;
            for (let i = 0; i < n; i++) if (mask & (1 << i)) bits++;
            if (bits !== k) continue;
            total++;
            if (mask & ((1 << c) - 1)) hit++;
          }
          expect(total).toBe(choose(n, k));
          expect(passAtK(n, c, k)).toBeCloseTo(hit / total, 12);
        }
      }
    }
    expect(() => passAtK(4, 1, 5)).toThrow(ProbeStatsError);
  });
});
