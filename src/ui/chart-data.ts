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
  series: { label: string; role: 'line' | 'bandEdge'; lineIndex: number }[];
  bands: [number, number][];
}

export function toAligned(model: ChartModel): AlignedChart {
  const data: (number | null)[][] = [model.x];
  const series: AlignedChart['series'] = [];
  const bands: [number, number][] = [];
  model.lines.forEach((line, lineIndex) => {
    data.push(line.values);
    series.push({ label: line.label, role: 'line', lineIndex });
    if (line.band) {
      data.push(line.band.hi, line.band.lo);
      series.push({ label: `${line.label} upper`, role: 'bandEdge', lineIndex }, { label: `${line.label} lower`, role: 'bandEdge', lineIndex });
      // uPlot counts x as series 0.
      bands.push([data.length - 2, data.length - 1]);
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

const THROUGHPUT_NAMES = ['tokens_per_s', 'tokens_per_second', 'tokens/s', 'throughput/tokens_per_second', 'tokens_per_sec'];

/** The fixed dashboard; a chart appears once the worker has reported one of its metrics. */
export function metricCharts(h: MetricsHistory): ChartModel[] {
  const x = h.steps;
  const charts: ChartModel[] = [];
  const reward = col(h, 'reward');
  if (reward) {
    const std = col(h, 'reward_std');
    charts.push({
      id: 'reward',
      title: 'Reward (mean ± std)',
      x,
      help: 'Mean reward of the step’s completions; the band is ± the reward std.',
      lines: [
        {
          label: 'reward',
          values: reward,
          band: std
            ? {
                lo: reward.map((m, i) => (m === null || std[i] === null ? null : m - std[i]!)),
                hi: reward.map((m, i) => (m === null || std[i] === null ? null : m + std[i]!)),
              }
            : undefined,
        },
      ],
    });
  }
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
  if (tps) charts.push({ id: 'throughput', title: 'Tokens / s', x, help: 'Generated plus trained tokens per second of wall time.', lines: [{ label: 'tokens/s', values: h.series[tps]! }] });
  return charts;
}

/** Metric names not on the dashboard, for the "other metric" picker. */
export function otherMetricNames(h: MetricsHistory): string[] {
  const shown = new Set(['reward', 'reward_std', 'accuracy', 'kl', 'entropy', 'completions/mean_length', 'completions/max_length', 'completions/clipped_ratio', ...THROUGHPUT_NAMES]);
  return Object.keys(h.series)
    .filter((k) => !shown.has(k) && !/^rewards\/.+\/mean$/.test(k) && !k.startsWith('clip_ratio'))
    .sort();
}

const pct = (v: number) => Math.round(v * 1000) / 10;

/** The probe accuracies over steps, in percent, with Wilson intervals as bands. */
export function probeChart(reports: ProbeReport[]): ChartModel {
  const sorted = [...reports].sort((a, b) => a.step - b.step);
  const kinds = [
    ['plain', 'plain'],
    ['plan', '+plan'],
    ['knowledge', '+knowledge'],
    ['subproblems', 'subproblems'],
  ] as const;
  return {
    id: 'probes',
    title: 'Probes: accuracy (%) with 95% Wilson intervals',
    x: sorted.map((r) => r.step),
    yRange: [0, 100],
    help: 'Held-out probe set: without hints, with the plan, with the knowledge; and all subproblems right.',
    lines: kinds.map(([key, label]) => ({
      label,
      values: sorted.map((r) => pct(r[key].acc)),
      band: { lo: sorted.map((r) => pct(r[key].lo)), hi: sorted.map((r) => pct(r[key].hi)) },
    })),
  };
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
}

/** Step-0 (first probe report) against the latest, in percent / percentage points. */
export function baseVsNow(reports: ProbeReport[]): { baseStep: number | null; nowStep: number | null; rows: ComparisonRow[] } {
  const sorted = [...reports].sort((a, b) => a.step - b.step);
  const base = sorted[0] ?? null;
  const now = sorted.length > 1 ? sorted[sorted.length - 1]! : null;
  const row = (label: string, get: (r: ProbeReport) => number, isEffect: boolean, paper?: { base: number; rl: number }): ComparisonRow => {
    const b = base ? pct(get(base)) : null;
    const n = now ? pct(get(now)) : null;
    return { label, base: b, now: n, delta: b !== null && n !== null ? Math.round((n - b) * 10) / 10 : null, paperBase: paper?.base ?? null, paperRl: paper?.rl ?? null, isEffect };
  };
  return {
    baseStep: base?.step ?? null,
    nowStep: now?.step ?? null,
    rows: [
      row('Plain accuracy', (r) => r.plain.acc, false),
      row('With plan', (r) => r.plan.acc, false),
      row('With knowledge', (r) => r.knowledge.acc, false),
      row('Plan effect', (r) => r.planEffect, true, { base: PAPER_EFFECTS.base.plan, rl: PAPER_EFFECTS.rl.plan }),
      row('Knowledge effect', (r) => r.knowledgeEffect, true, { base: PAPER_EFFECTS.base.knowledge, rl: PAPER_EFFECTS.rl.knowledge }),
      row('Subproblem success', (r) => r.subproblems.acc, false),
    ],
  };
}
