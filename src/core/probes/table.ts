/** Probe results broken down by difficulty, for the CLI table and the probe panel. */
import type { ProbeRow } from './run';

export interface DifficultyRow {
  difficulty: number | null;
  n: number;
  plain: number;
  plan: number | null;
  knowledge: number | null;
  subproblems: number | null;
}

function meanOf(xs: (number | null)[]): number | null {
  const v = xs.filter((x): x is number => x !== null);
  return v.length === 0 ? null : v.reduce((a, b) => a + b, 0) / v.length;
}

export function byDifficulty(rows: ProbeRow[]): DifficultyRow[] {
  const groups = new Map<number | null, ProbeRow[]>();
  for (const r of rows) {
    const d = r.difficulty ?? null;
    const g = groups.get(d);
    if (g) g.push(r);
    else groups.set(d, [r]);
  }
  return [...groups.entries()]
    .sort((a, b) => (a[0] ?? Infinity) - (b[0] ?? Infinity))
    .map(([difficulty, g]) => ({
      difficulty,
      n: g.length,
      plain: meanOf(g.map((r) => r.plain))!,
      plan: meanOf(g.map((r) => r.plan)),
      knowledge: meanOf(g.map((r) => r.knowledge)),
      subproblems: meanOf(g.map((r) => r.subproblems)),
    }));
}
