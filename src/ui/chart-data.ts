/**
 * Turns the store's history into chart models: which lines, which bands. Pure, so the choice of
 * what to plot is tested without a canvas; the uPlot wrapper only draws what it is given.
 */
import type { ProbeReport } from '../worker/protocol';
import type { MetricsHistory } from './store';
import { SPARKLE_EFFECTS } from '../core/probes/paper';

export interface ChartLine {
  label: string;
  values: (number | null)[];
  /** A shaded interval drawn behind the line (±std, Wilson interval). */
  band?: { lo: (number | null)[]; hi: (number | null)[] };
  /** 'points' draws the raw values as dots only (under a smoothed line of the same colour). */
  style?: 'line' | 'points';
  /** Palette index; defaults to the line's position. */
  color?: number;
  /** Opacity of the band fill; kept low so intervals sit behind the lines. */
  bandAlpha?: number;
}

export interface ChartModel {
  id: string;
  title: string;
  x: number[];
  lines: ChartLine[];
  /** Fixed y range (e.g. 0..100 for percentages); auto when absent. */
  yRange?: [number, number];
  help: string;
}

/** uPlot's layout: [x, ...series] with band edges as hidden series; bands name [upper, lower] series indices. */
export interface AlignedChart {
  data: (number | null)[][];
  series: { label: string; role: 'line' | 'bandEdge'; lineIndex: number; color: number; style: 'line' | 'points' }[];
  bands: { series: [number, number]; color: number; alpha: number }[];
}

export const DEFAULT_BAND_ALPHA = 0.1;

export function toAligned(model: ChartModel): AlignedChart {
  const data: (number | null)[][] = [model.x];
  const series: AlignedChart['series'] = [];
  const bands: AlignedChart['bands'] = [];
  model.lines.forEach((line, lineIndex) => {
    const color = line.color ?? lineIndex;
    const style = line.style ?? 'line';
    data.push(line.values);
    series.push({ label: line.label, role: 'line', lineIndex, color, style });
    if (line.band) {
      data.push(line.band.hi, line.band.lo);
      series.push({ label: `${line.label} upper`, role: 'bandEdge', lineIndex, color, style: 'line' }, { label: `${line.label} lower`, role: 'bandEdge', lineIndex, color, style: 'line' });
      // uPlot counts x as series 0.
      bands.push({ series: [data.length - 2, data.length - 1], color, alpha: line.bandAlpha ?? DEFAULT_BAND_ALPHA });
    }
  });
  return { data, series, bands };
}

function col(h: MetricsHistory, name: string): (number | null)[] | undefined {
  return h.series[name];
}

function lineIf(h: MetricsHistory, name: string, label = name): ChartLine[] {
  const v = col(h, name);
  return v ? [{ label, values: v }] : [];
}

/** The mean of the last `window` reported values at each step (fewer at the start); null before the first value. */
export function trailingMean(values: readonly (number | null)[], window: number): (number | null)[] {
  const out: (number | null)[] = [];
  const recent: number[] = [];
  for (const v of values) {
    if (v !== null && Number.isFinite(v)) {
      recent.push(v);
      if (recent.length > window) recent.shift();
    }
    out.push(recent.length === 0 ? null : recent.reduce((a, b) => a + b, 0) / recent.length);
  }
  return out;
}

export const REWARD_SMOOTHING_WINDOW = 5;

/** Reward: each step's mean as a dot, the mean of the last few steps as a line, optionally the ±std band. */
export function rewardChart(h: MetricsHistory, opts: { band?: boolean } = {}): ChartModel | null {
  const reward = col(h, 'reward');
  if (!reward) return null;
  const std = opts.band === false ? undefined : col(h, 'reward_std');
  const w = REWARD_SMOOTHING_WINDOW;
  return {
    id: 'reward',
    title: opts.band === false ? 'Reward' : 'Reward (mean ± std)',
    x: h.steps,
    help: `Dots: each step's mean reward. Line: the mean of the last ${w} steps.${std ? ' Band: ± the reward std within the step.' : ''}`,
    lines: [
      {
        label: 'each step',
        values: reward,
        style: 'points',
        color: 0,
        bandAlpha: 0.07,
        band: std
          ? {
              lo: reward.map((m, i) => (m === null || std[i] === null ? null : m - std[i]!)),
              hi: reward.map((m, i) => (m === null || std[i] === null ? null : m + std[i]!)),
            }
          : undefined,
      },
      { label: `mean of last ${w}`, values: trailingMean(reward, w), color: 0 },
    ],
  };
}

const THROUGHPUT_NAMES = ['tokens_per_s', 'tokens_per_second', 'tokens/s', 'throughput/tokens_per_second', 'tokens_per_sec'];

/** The fixed dashboard; a chart appears once the worker has reported one of its metrics. */
export function metricCharts(h: MetricsHistory): ChartModel[] {
  const x = h.steps;
  const charts: ChartModel[] = [];
  // No ±std band: it sets the y scale and flattens the trend the smoothed line is there to show.
  const reward = rewardChart(h, { band: false });
  if (reward) charts.push(reward);
  const perFn = Object.keys(h.series)
    .map((k) => /^rewards\/(.+)\/mean$/.exec(k))
    .filter((m): m is RegExpExecArray => m !== null)
    .sort((a, b) => a[1]!.localeCompare(b[1]!));
  if (perFn.length) charts.push({ id: 'reward-fns', title: 'Reward per function', x, help: 'Mean of each reward function before weighting.', lines: perFn.map((m) => ({ label: m[1]!, values: h.series[m[0]]! })) });
  const acc = [...lineIf(h, 'accuracy'), ...lineIf(h, 'rewards/correctness/mean', 'correctness')].slice(0, 1);
  if (acc.length) charts.push({ id: 'accuracy', title: 'Accuracy', x, help: 'Share of completions with the right answer.', lines: acc, yRange: [0, 1] });
  const kl = lineIf(h, 'kl');
  if (kl.length) charts.push({ id: 'kl', title: 'KL to reference', x, help: 'Mean per-token k3 estimate of KL(policy ‖ reference).', lines: kl });
  const ent = lineIf(h, 'entropy');
  if (ent.length) charts.push({ id: 'entropy', title: 'Entropy', x, help: 'Mean per-token entropy of the policy on its completions.', lines: ent });
  const len = [...lineIf(h, 'completions/mean_length', 'mean length'), ...lineIf(h, 'completions/max_length', 'max length')];
  if (len.length) charts.push({ id: 'length', title: 'Completion length (tokens)', x, help: 'Tokens per completion.', lines: len });
  const clip = Object.keys(h.series)
    .filter((k) => k.startsWith('clip_ratio') || k === 'completions/clipped_ratio')
    .sort()
    .map((k) => ({ label: k.replace(/^clip_ratio\/?/, '').replace('completions/clipped_ratio', 'truncated') || 'clip_ratio', values: h.series[k]! }));
  if (clip.length) charts.push({ id: 'clip', title: 'Clip ratios', x, help: 'Share of tokens whose ratio was clipped (and of completions cut at max length).', lines: clip });
  const tps = THROUGHPUT_NAMES.find((n) => h.series[n]);
  if (tps) charts.push({ id: 'throughput', title: 'Tokens / s', x, help: 'Tokens sampled per second of rollout (generation) time; the update is not counted.', lines: [{ label: 'tokens/s', values: h.series[tps]! }] });
  return charts;
}

/** Bookkeeping numbers (memory, tensor counts, timings) say nothing about learning: never the default pick. */
const BOOKKEEPING = /(^|\/)(bytes|num_tensors)$|_time(_s)?$|_ms$|tokens_per_s/;
const PREFERRED_OTHER = ['completions/mean_length', 'kl', 'entropy', 'frac_reward_zero_std', 'grad_norm', 'policy_loss'];

/** The metric a picker starts on: a meaningful one from `names`, never bytes or timings when anything else exists. */
export function defaultOtherMetric(names: readonly string[]): string | undefined {
  for (const p of PREFERRED_OTHER) if (names.includes(p)) return p;
  return names.find((n) => !BOOKKEEPING.test(n)) ?? names[0];
}

/** Metric names not on the dashboard, for the "other metric" picker. */
export function otherMetricNames(h: MetricsHistory): string[] {
  const shown = new Set(['reward', 'accuracy', 'kl', 'entropy', 'completions/mean_length', 'completions/max_length', 'completions/clipped_ratio', ...THROUGHPUT_NAMES]);
  return Object.keys(h.series)
    .filter((k) => !shown.has(k) && !/^rewards\/.+\/mean$/.test(k) && !k.startsWith('clip_ratio'))
    .sort();
}

const pct = (v: number) => Math.round(v * 1000) / 10;

/** A probe score with n = 0 was not measured (a data set without plans or knowledge): not applicable, not zero. */
export function measured(s: { n: number } | undefined): boolean {
  return s !== undefined && s.n > 0;
}

/** The probe accuracies over steps, in percent, with Wilson intervals as faint bands. */
export function probeChart(reports: ProbeReport[], opts: { subproblems?: boolean; fitY?: boolean } = {}): ChartModel {
  const sorted = [...reports].sort((a, b) => a.step - b.step);
  const kinds = (
    [
      ['plain', 'plain'],
      ['plan', '+plan'],
      ['knowledge', '+knowledge'],
      ['subproblems', 'subproblems'],
    ] as const
  ).filter(([key]) => opts.subproblems !== false || key !== 'subproblems');
  const lines: ChartLine[] = kinds.map(([key, label], i) => {
      const any = sorted.some((r) => measured(r[key]));
      const v = (get: (s: ProbeReport['plain']) => number) => sorted.map((r) => (measured(r[key]) ? pct(get(r[key])) : null));
      return {
        label: any || sorted.length === 0 ? label : `${label} (n/a)`,
        values: v((s) => s.acc),
        color: i,
        bandAlpha: 0.06,
        band: { lo: v((s) => s.lo), hi: v((s) => s.hi) },
      };
    });
  return {
    id: 'probes',
    title: 'Probes: accuracy (%) with 95% Wilson intervals',
    x: sorted.map((r) => r.step),
    yRange: opts.fitY ? fittedPercentRange(lines) : [0, 100],
    help: 'Held-out probe set: without hints, with the plan, with the knowledge; and all subproblems right. n/a: the data set has none.',
    lines,
  };
}

/** The span of the lines and their bands, widened to whole tens within 0..100, so a 20-point rise is not squeezed into a fifth of a projector chart. */
export function fittedPercentRange(lines: readonly ChartLine[]): [number, number] {
  const all = lines.flatMap((l) => [...l.values, ...(l.band?.lo ?? []), ...(l.band?.hi ?? [])]).filter((v): v is number => v !== null);
  if (all.length === 0) return [0, 100];
  const lo = Math.max(0, Math.floor(Math.min(...all) / 10) * 10);
  const hi = Math.min(100, Math.ceil(Math.max(...all) / 10) * 10);
  return hi - lo < 20 ? [Math.max(0, lo - 10), Math.min(100, hi + 10)] : [lo, hi];
}

/** The paper's averages (percentage points) that the base-vs-now table sits beside. */
export const PAPER_EFFECTS = {
  base: { plan: SPARKLE_EFFECTS.rows[0]!.planEffect, knowledge: SPARKLE_EFFECTS.rows[0]!.knowledgeEffect },
  rl: { plan: SPARKLE_EFFECTS.rows[1]!.planEffect, knowledge: SPARKLE_EFFECTS.rows[1]!.knowledgeEffect },
};

export interface ComparisonRow {
  label: string;
  base: number | null;
  now: number | null;
  delta: number | null;
  paperBase: number | null;
  paperRl: number | null;
  /** Effects are differences of accuracies; rows without it are accuracies. */
  isEffect: boolean;
  /** Not measured (n = 0): shown as n/a rather than a number. */
  baseNa?: boolean;
  nowNa?: boolean;
}

/** Step-0 (first probe report) against the latest, in percent / percentage points. */
export function baseVsNow(reports: ProbeReport[]): { baseStep: number | null; nowStep: number | null; rows: ComparisonRow[] } {
  const sorted = [...reports].sort((a, b) => a.step - b.step);
  const base = sorted[0] ?? null;
  const now = sorted.length > 1 ? sorted[sorted.length - 1]! : null;
  type Key = 'plain' | 'plan' | 'knowledge' | 'subproblems';
  const row = (label: string, get: (r: ProbeReport) => number, isEffect: boolean, needs: Key[], paper?: { base: number; rl: number }): ComparisonRow => {
    const ok = (r: ProbeReport | null) => r !== null && needs.every((k) => measured(r[k]));
    const baseNa = base !== null && !ok(base);
    const nowNa = now !== null && !ok(now);
    const b = base && !baseNa ? pct(get(base)) : null;
    const n = now && !nowNa ? pct(get(now)) : null;
    return { label, base: b, now: n, delta: b !== null && n !== null ? Math.round((n - b) * 10) / 10 : null, paperBase: paper?.base ?? null, paperRl: paper?.rl ?? null, isEffect, baseNa, nowNa };
  };
  return {
    baseStep: base?.step ?? null,
    nowStep: now?.step ?? null,
    rows: [
      row('Plain accuracy', (r) => r.plain.acc, false, ['plain']),
      row('With plan', (r) => r.plan.acc, false, ['plan']),
      row('With knowledge', (r) => r.knowledge.acc, false, ['knowledge']),
      row('Plan effect', (r) => r.planEffect, true, ['plain', 'plan'], { base: PAPER_EFFECTS.base.plan, rl: PAPER_EFFECTS.rl.plan }),
      row('Knowledge effect', (r) => r.knowledgeEffect, true, ['plain', 'knowledge'], { base: PAPER_EFFECTS.base.knowledge, rl: PAPER_EFFECTS.rl.knowledge }),
      row('Subproblem success', (r) => r.subproblems.acc, false, ['subproblems']),
    ],
  };
}

/** How a probe report was measured, in the words the page shows beside its figures. */
export function probeModeLabel(r: ProbeReport): string {
  if (r.mode === 'avg@k') return `Avg@${r.samples ?? '?'} at T = ${r.temperature ?? '?'}`;
  return 'greedy';
}
