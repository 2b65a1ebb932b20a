/**
 * The loss metrics of an update, combined as TRL logs them: each slice's masked mean (its
 * micro-batches' numerators over their summed counts), then the mean over slices and passes;
 * clip_ratio/low_min and clip_ratio/high_max are the least and greatest slice values (TRL takes
 * them over processes, which hold one slice each).
 */
import type { LossMetricName } from './loss';

export class LossMetrics {
  /** Per slice of the current pass: numerator and count per metric. */
  private slices = new Map<number, Map<LossMetricName, { num: number; den: number }>>();
  private readonly values = new Map<LossMetricName, number[]>();

  add(slice: number, name: LossMetricName, numerator: number, count: number): void {
    const s = this.slices.get(slice) ?? new Map<LossMetricName, { num: number; den: number }>();
    this.slices.set(slice, s);
    const cur = s.get(name) ?? { num: 0, den: 0 };
    s.set(name, { num: cur.num + numerator, den: cur.den + count });
  }

  endPass(): void {
    for (const s of this.slices.values()) {
      for (const [name, { num, den }] of s) {
        const list = this.values.get(name) ?? [];
        list.push(num / Math.max(1, den));
        this.values.set(name, list);
      }
    }
    this.slices.clear();
  }

  result(logKl: boolean): Record<string, number> {
    const out: Record<string, number> = {};
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const [name, xs] of this.values) {
      if (name === 'kl' && !logKl) continue;
      out[name] = mean(xs);
      if (name === 'clip_ratio/low_mean') out['clip_ratio/low_min'] = Math.min(...xs);
      if (name === 'clip_ratio/high_mean') out['clip_ratio/high_max'] = Math.max(...xs);
    }
    return out;
  }
}
