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
  plainGain: 'plain vs reference arm',
  planEffectShift: 'plan effect vs reference arm',
  knowledgeEffectShift: 'knowledge effect vs reference arm',
};

export const ALL_FIGURES: Figure[] = [
  'plain',
  'plan',
  'knowledge',
  'subproblems',
  'planEffect',
  'knowledgeEffect',
  'subproblemGap',
  'greedyPlain',
  'plainGain',
  'planEffectShift',
  'knowledgeEffectShift',
];

/** Figures that are differences (points, signed), not accuracies. */
const EFFECTS: ReadonlySet<Figure> = new Set<Figure>(['planEffect', 'knowledgeEffect', 'subproblemGap', 'plainGain', 'planEffectShift', 'knowledgeEffectShift']);

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

const NONE: Cell = { mean: 0, lo: 0, hi: 0, n: 0, seedSd: null, perSeed: [] };

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

function effectCell(cond: (number | null)[][], plain: (number | null)[][], range = 1): Cell {
  // Per problem and run: condition − plain where both apply.
  const diffs = cond.map((r, s) => r.map((x, i) => (x === null || plain[s]![i] === null || plain[s]![i] === undefined ? null : x - plain[s]![i]!)));
  return diffCell(diffs, range);
}

/** Mean of per-problem differences in [-range, range], pooled over runs, with a paired interval. */
function diffCell(diffs: (number | null)[][], range: number): Cell {
  const values = pooled(diffs);
  const perSeed = diffs.map((r) => r.filter((x): x is number => x !== null)).filter((v) => v.length > 0).map((v) => mean(v) * 100);
  if (values.length === 0) return NONE;
  const m = meanInterval(values, -range, range);
  return { mean: m.mean * 100, lo: m.lo * 100, hi: m.hi * 100, n: m.n, seedSd: sd(perSeed), perSeed };
}

/** condition − plain per problem (null where the condition does not apply). */
function effectRow(r: CompactRows, cond: 'plan' | 'knowledge'): (number | null)[] {
  return r[cond].map((x, i) => (x === null ? null : x - r.plain[i]!));
}

/**
 * The arm against the recipe's reference arm (the first that does not train: the base model or
 * the Stage-1 checkpoint), paired by seed and problem: both were probed on the same problems,
 * so the per-problem difference's interval is far narrower than two separate intervals.
 */
function pairedCells(runs: ArmRun[], ref: ArmRun[], probedOnce: boolean): Pick<Record<Figure, Cell>, 'plainGain' | 'planEffectShift' | 'knowledgeEffectShift'> {
  const pairs = runs.flatMap((r) => {
    // The untrained base model is probed once (seeds differ only in probe sampling): every seed pairs with it.
    const other = ref.find((x) => x.seed === r.seed) ?? (probedOnce ? ref[0] : undefined);
    return other && other.sampledRows.plain.length === r.sampledRows.plain.length ? [[r.sampledRows, other.sampledRows] as const] : [];
  });
  if (pairs.length === 0) return { plainGain: NONE, planEffectShift: NONE, knowledgeEffectShift: NONE };
  const shift = (cond: 'plan' | 'knowledge') =>
    pairs.map(([a, b]) => {
      const ea = effectRow(a, cond);
      const eb = effectRow(b, cond);
      return ea.map((x, i) => (x === null || eb[i] === null ? null : x - eb[i]!));
    });
  return {
    plainGain: effectCell(pairs.map(([a]) => a.plain), pairs.map(([, b]) => b.plain)),
    planEffectShift: diffCell(shift('plan'), 2),
    knowledgeEffectShift: diffCell(shift('knowledge'), 2),
  };
}

export function summarise(result: ExperimentResult): ExperimentTable {
  const arms: ArmSummary[] = [];
  const refArm = recipe(result.experiment).arms.find((a) => !a.train);
  const refId = refArm?.id;
  // A Stage-1 checkpoint is made per seed and pairs only with its own seed.
  const probedOnce = refArm?.from === 'base';
  const runsOf = (id: string): ArmRun[] => result.runs.filter((r) => r.arm === id).sort((x, y) => x.seed - y.seed);
  const ref = refId ? runsOf(refId) : [];
  for (const a of result.arms) {
    const runs = runsOf(a.id);
    if (runs.length === 0) continue;
    const paired = a.id === refId ? { plainGain: NONE, planEffectShift: NONE, knowledgeEffectShift: NONE } : pairedCells(runs, ref, probedOnce);
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
        ...paired,
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
  return EFFECTS.has(f);
}

/** The table as markdown: the recipe's focus figures first, then the rest. */
export function tableMarkdown(result: ExperimentResult, command?: string): string {
  const t = summarise(result);
  const rec = recipe(result.experiment);
  const figures = [...rec.focus, ...ALL_FIGURES.filter((f) => !rec.focus.includes(f))];
  const ref = rec.arms.find((a) => !a.train);
  const lines = [
    `## ${t.title}`,
    '',
    rec.question,
    '',
    `Paper: ${rec.paper}`,
    '',
    `Each cell: mean over seeds (95% interval over problems) ±standard deviation over seeds; accuracies in %, effects in points. ${t.metric}.${t.complete ? '' : ' **Incomplete run: only the arms listed finished.**'}`,
    ...(ref ? ['', `"vs reference arm": this arm's figure minus the ${ref.label}'s, paired by seed and problem (same probe problems), so its interval is the paired one.`] : []),
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
