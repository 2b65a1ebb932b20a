/**
 * An experiment's result as a table: per arm and figure, the mean over seeds with a 95% interval
 * that treats problems as the unit (each problem's value averaged over seeds and samples first),
 * and the spread over seeds (their standard deviation). Rendered as markdown and JSON.
 */
import { avgAtK, meanInterval } from '../probes/stats';
import type { ArmRun, CompactRows, ExperimentResult } from './runner';
import { recipe, type Recipe } from './recipes';

export type Figure = Recipe['focus'][number];

export const FIGURE_LABELS: Record<Figure, string> = {
  plain: 'plain Avg@k',
  plan: '+plan Avg@k',
  knowledge: '+knowledge Avg@k',
  subproblems: 'subproblems Avg@k',
  planEffect: 'plan effect',
  knowledgeEffect: 'knowledge effect',
  greedyPlain: 'plain greedy',
  subproblemGap: 'subproblems − plain',
};

export const ALL_FIGURES: Figure[] = ['plain', 'plan', 'knowledge', 'subproblems', 'planEffect', 'knowledgeEffect', 'subproblemGap', 'greedyPlain'];

export interface Cell {
  /** Percent (accuracies) or percentage points (effects). */
  mean: number;
  lo: number;
  hi: number;
  /** Problems behind the interval (0: the figure does not apply, shown as n/a). */
  n: number;
  /** Standard deviation over seeds, percentage points; null with one seed. */
  seedSd: number | null;
  /** The figure of each seed, in seed order. */
  perSeed: number[];
}

export interface ArmSummary {
  arm: string;
  label: string;
  seeds: number[];
  cells: Record<Figure, Cell>;
}

export interface ExperimentTable {
  experiment: string;
  title: string;
  metric: string;
  complete: boolean;
  arms: ArmSummary[];
}

function mean(xs: number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

function sd(xs: number[]): number | null {
  if (xs.length < 2) return null;
  const m = mean(xs);
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** Each problem's value averaged over the runs that have it; problems with none are left out. */
function pooled(rows: (number | null)[][]): number[] {
  const n = rows[0]?.length ?? 0;
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const v = rows.map((r) => r[i]).filter((x): x is number => x !== null && x !== undefined);
    if (v.length > 0) out.push(mean(v));
  }
  return out;
}

function accuracyCell(rows: (number | null)[][]): Cell {
  const values = pooled(rows);
  const perSeed = rows.map((r) => r.filter((x): x is number => x !== null)).filter((v) => v.length > 0).map((v) => mean(v) * 100);
  if (values.length === 0) return { mean: 0, lo: 0, hi: 0, n: 0, seedSd: null, perSeed: [] };
  const a = avgAtK(values);
  return { mean: a.acc * 100, lo: a.lo * 100, hi: a.hi * 100, n: a.n, seedSd: sd(perSeed), perSeed };
}

function effectCell(cond: (number | null)[][], plain: number[][]): Cell {
  // Per problem and run: condition − plain where the condition applies.
  const diffs = cond.map((r, s) => r.map((x, i) => (x === null ? null : x - plain[s]![i]!)));
  const values = pooled(diffs);
  const perSeed = diffs.map((r) => r.filter((x): x is number => x !== null)).filter((v) => v.length > 0).map((v) => mean(v) * 100);
  if (values.length === 0) return { mean: 0, lo: 0, hi: 0, n: 0, seedSd: null, perSeed: [] };
  const m = meanInterval(values, -1, 1);
  return { mean: m.mean * 100, lo: m.lo * 100, hi: m.hi * 100, n: m.n, seedSd: sd(perSeed), perSeed };
}

export function summarise(result: ExperimentResult): ExperimentTable {
  const arms: ArmSummary[] = [];
  for (const a of result.arms) {
    const runs: ArmRun[] = result.runs.filter((r) => r.arm === a.id).sort((x, y) => x.seed - y.seed);
    if (runs.length === 0) continue;
    const s: CompactRows[] = runs.map((r) => r.sampledRows);
    const greedy = runs.map((r) => r.greedyRows).filter((g): g is CompactRows => g !== undefined);
    arms.push({
      arm: a.id,
      label: a.label,
      seeds: runs.map((r) => r.seed),
      cells: {
        plain: accuracyCell(s.map((r) => r.plain)),
        plan: accuracyCell(s.map((r) => r.plan)),
        knowledge: accuracyCell(s.map((r) => r.knowledge)),
        subproblems: accuracyCell(s.map((r) => r.subproblems)),
        planEffect: effectCell(s.map((r) => r.plan), s.map((r) => r.plain)),
        knowledgeEffect: effectCell(s.map((r) => r.knowledge), s.map((r) => r.plain)),
        greedyPlain: accuracyCell(greedy.map((r) => r.plain)),
        subproblemGap: effectCell(s.map((r) => r.subproblems), s.map((r) => r.plain)),
      },
    });
  }
  return {
    experiment: result.experiment,
    title: result.title,
    metric: `Avg@${result.settings.probeSamples} at temperature ${result.settings.probeTemperature} on ${result.settings.probeN} held-out problems (greedy: one completion per prompt)`,
    complete: result.complete,
    arms,
  };
}

function fmt(x: number, signed: boolean): string {
  const s = x.toFixed(1);
  return signed && x > 0 ? `+${s}` : s;
}

export function formatCell(c: Cell, signed: boolean): string {
  if (c.n === 0) return 'n/a';
  return `${fmt(c.mean, signed)} (${fmt(c.lo, signed)} to ${fmt(c.hi, signed)})${c.seedSd === null ? '' : ` ±${c.seedSd.toFixed(1)}`}`;
}

export function isEffect(f: Figure): boolean {
  return f === 'planEffect' || f === 'knowledgeEffect' || f === 'subproblemGap';
}

/** The table as markdown: the recipe's focus figures first, then the rest. */
export function tableMarkdown(result: ExperimentResult, command?: string): string {
  const t = summarise(result);
  const rec = recipe(result.experiment);
  const figures = [...rec.focus, ...ALL_FIGURES.filter((f) => !rec.focus.includes(f))];
  const lines = [
    `## ${t.title}`,
    '',
    rec.question,
    '',
    `Paper: ${rec.paper}`,
    '',
    `Each cell: mean over seeds (95% interval over problems) ±standard deviation over seeds; accuracies in %, effects in points. ${t.metric}.${t.complete ? '' : ' **Incomplete run: only the arms listed finished.**'}`,
    '',
    `| arm | seeds | ${figures.map((f) => FIGURE_LABELS[f]).join(' | ')} |`,
    `|---|---|${figures.map(() => '---').join('|')}|`,
    ...t.arms.map((a) => `| ${a.label} | ${a.seeds.length} | ${figures.map((f) => formatCell(a.cells[f], isEffect(f))).join(' | ')} |`),
    '',
    `Settings: seeds ${result.settings.seeds.join(', ')}; ${result.settings.steps} RL steps${result.settings.stage2Steps > 0 ? ` (+${result.settings.stage2Steps} Stage-2 steps)` : ''}; GRPO ${JSON.stringify(result.settings.grpo)}; backend ${result.settings.backend ?? 'n/a'}.`,
  ];
  if (command) lines.push('', `Command: \`${command}\``);
  return lines.join('\n') + '\n';
}
