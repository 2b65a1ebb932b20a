import { describe, expect, it } from 'vitest';
import { baseVsNow, defaultOtherMetric, fittedPercentRange, metricCharts, otherMetricNames, probeChart, rewardChart, toAligned, trailingMean } from '../../src/ui/chart-data';
import { appendMetrics, type MetricsHistory } from '../../src/ui/store';
import type { ProbeReport } from '../../src/worker/protocol';

function history(rows: Record<string, number>[]): MetricsHistory {
  return rows.reduce<MetricsHistory>((h, m, i) => appendMetrics(h, i + 1, m), { steps: [], series: {} });
}

describe('dashboard charts', () => {
  const h = history([
    { reward: 0.5, reward_std: 0.25, 'rewards/format/mean': 1, 'rewards/correctness/mean': 0.25, kl: 0.001, entropy: 2, 'completions/mean_length': 20, 'clip_ratio/region_mean': 0.1, tokens_per_s: 500, grad_norm: 1 },
    { reward: 0.75, 'rewards/format/mean': 1, 'rewards/correctness/mean': 0.5, kl: 0.002, entropy: 1.9, 'completions/mean_length': 22, 'clip_ratio/region_mean': 0.2, tokens_per_s: 520, grad_norm: 0.5 },
  ]);
  const charts = metricCharts(h);

  it('plots each step’s reward as points with a ±std band, null where the std is missing, under the smoothed line', () => {
    const reward = rewardChart(h)!;
    expect(reward.lines[0]!).toMatchObject({ values: [0.5, 0.75], style: 'points' });
    expect(reward.lines[0]!.band).toEqual({ lo: [0.25, null], hi: [0.75, null] });
    expect(reward.lines[1]!).toMatchObject({ label: 'mean of last 5', values: [0.5, 0.625] });
    expect(reward.lines[1]!.style ?? 'line').toBe('line');
    // Same colour: the line summarises the points.
    expect(reward.lines[0]!.color).toBe(reward.lines[1]!.color);
    expect(rewardChart(h, { band: false })!.lines[0]!.band).toBeUndefined();
    // The dashboard leaves the band out (it flattens the trend); reward_std is one pick away.
    expect(charts.find((c) => c.id === 'reward')!.lines[0]!.band).toBeUndefined();
  });

  it('smooths with the mean of the last few reported values', () => {
    expect(trailingMean([1, 2, 3, 4, 5, 6], 3)).toEqual([1, 1.5, 2, 3, 4, 5]);
    expect(trailingMean([null, 4, null, 2, 0], 2)).toEqual([null, 4, 4, 3, 1]);
  });

  it('never starts the other-metric picker on bytes or timings', () => {
    expect(defaultOtherMetric(['bytes', 'grad_norm', 'num_tensors'])).toBe('grad_norm');
    expect(defaultOtherMetric(['bytes', 'kl', 'completions/mean_length'])).toBe('completions/mean_length');
    expect(defaultOtherMetric(['bytes', 'rollout_time_s', 'scaffold/groups'])).toBe('scaffold/groups');
    expect(defaultOtherMetric(['bytes'])).toBe('bytes');
    expect(defaultOtherMetric([])).toBeUndefined();
  });

  it('groups metrics by TRL name', () => {
    expect(charts.map((c) => c.id)).toEqual(['reward', 'reward-fns', 'accuracy', 'kl', 'entropy', 'length', 'clip', 'throughput']);
    expect(charts.find((c) => c.id === 'reward-fns')!.lines.map((l) => l.label)).toEqual(['correctness', 'format']);
    expect(charts.find((c) => c.id === 'accuracy')!.lines[0]!.values).toEqual([0.25, 0.5]);
    expect(otherMetricNames(h)).toEqual(['grad_norm', 'reward_std']);
  });

  it('lays bands out for uPlot as hidden edge series after their line', () => {
    const a = toAligned(rewardChart(h)!);
    expect(a.data).toEqual([[1, 2], [0.5, 0.75], [0.75, null], [0.25, null], [0.5, 0.625]]);
    expect(a.bands).toEqual([{ series: [2, 3], color: 0, alpha: 0.07 }]);
    expect(a.series.map((s) => s.role)).toEqual(['line', 'bandEdge', 'bandEdge', 'line']);
    expect(a.series.map((s) => s.style)).toEqual(['points', 'line', 'line', 'line']);
  });
});

describe('probes', () => {
  const s = (acc: number, lo: number, hi: number) => ({ acc, lo, hi, n: 100 });
  const reports: ProbeReport[] = [
    { step: 20, plain: s(0.5, 0.4, 0.6), plan: s(0.51, 0.41, 0.61), knowledge: s(0.6, 0.5, 0.7), subproblems: s(0.2, 0.13, 0.29), planEffect: 0.01, knowledgeEffect: 0.1 },
    { step: 0, plain: s(0.3, 0.22, 0.4), plan: s(0.25, 0.17, 0.35), knowledge: s(0.26, 0.18, 0.36), subproblems: s(0.1, 0.05, 0.18), planEffect: -0.05, knowledgeEffect: -0.04 },
  ];

  it('charts accuracies in percent with Wilson bands, by step', () => {
    const c = probeChart(reports);
    expect(c.x).toEqual([0, 20]);
    expect(c.lines.map((l) => l.label)).toEqual(['plain', '+plan', '+knowledge', 'subproblems']);
    expect(c.lines[2]!.values).toEqual([26, 60]);
    expect(c.lines[2]!.band).toEqual({ lo: [18, 50], hi: [36, 70] });
  });

  it('compares step 0 with now like the paper, in points', () => {
    const t = baseVsNow(reports);
    expect(t.baseStep).toBe(0);
    expect(t.nowStep).toBe(20);
    const row = (label: string) => t.rows.find((r) => r.label === label)!;
    expect(row('Plain accuracy')).toMatchObject({ base: 30, now: 50, delta: 20 });
    expect(row('Plan effect')).toMatchObject({ base: -5, now: 1, delta: 6, paperBase: -5.66, paperRl: 1.56, isEffect: true });
    expect(row('Knowledge effect')).toMatchObject({ base: -4, now: 10, delta: 14, paperBase: -5.44, paperRl: 4.34 });
    expect(baseVsNow([reports[1]!]).rows[0]).toMatchObject({ base: 30, now: null, delta: null });
  });

  it('shows n/a, not a number, for probes a data set cannot run (n = 0)', () => {
    const none = { acc: 0, lo: 0, hi: 0, n: 0 };
    const jsonl: ProbeReport[] = [
      { step: 0, plain: s(0.3, 0.2, 0.4), plan: none, knowledge: none, subproblems: none, planEffect: 0, knowledgeEffect: 0 },
      { step: 5, plain: s(0.4, 0.3, 0.5), plan: none, knowledge: none, subproblems: none, planEffect: 0, knowledgeEffect: 0 },
    ];
    const t = baseVsNow(jsonl);
    const row = (label: string) => t.rows.find((r) => r.label === label)!;
    expect(row('Plain accuracy')).toMatchObject({ base: 30, now: 40, delta: 10, baseNa: false, nowNa: false });
    for (const label of ['With plan', 'With knowledge', 'Plan effect', 'Knowledge effect', 'Subproblem success']) {
      expect(row(label)).toMatchObject({ base: null, now: null, delta: null, baseNa: true, nowNa: true });
    }
    const c = probeChart(jsonl);
    expect(c.lines.map((l) => l.label)).toEqual(['plain', '+plan (n/a)', '+knowledge (n/a)', 'subproblems (n/a)']);
    expect(c.lines[1]!.values).toEqual([null, null]);
    expect(c.lines[0]!.values).toEqual([30, 40]);
  });

  it('fits the projector chart’s y axis to the lines and intervals, in whole tens', () => {
    const c = probeChart(reports, { subproblems: false, fitY: true });
    expect(c.lines).toHaveLength(3);
    // lows 17 (plan band at step 0), highs 70 (knowledge band at step 20)
    expect(c.yRange).toEqual([10, 70]);
    expect(fittedPercentRange([{ label: 'x', values: [50, 52] }])).toEqual([40, 70]);
    expect(fittedPercentRange([])).toEqual([0, 100]);
    expect(probeChart(reports).yRange).toEqual([0, 100]);
  });
});
