/**
 * Scores every completion with every reward function and combines them as TRL does: a weighted
 * sum where a null ("not applicable", TRL's None → NaN) is left out (nansum), and a per-function
 * mean over the completions it applied to (rewards/<name>/mean).
 */
import type { NamedReward, Problem } from '../types';

/** memory: the sandbox's memory or stack cap was reached. */
export type RewardErrorKind = 'threw' | 'nonfinite' | 'type' | 'timeout' | 'syntax' | 'crashed' | 'memory';

/** A reward function failed; the step that needed it is skipped and the model left untouched. */
export class RewardError extends Error {
  constructor(
    readonly rewardName: string,
    readonly kind: RewardErrorKind,
    detail: string,
    /** 1-based line and column in the user's source, where known. */
    readonly line?: number,
    readonly column?: number,
  ) {
    const where = line !== undefined ? ` (line ${line}${column !== undefined ? `, column ${column}` : ''})` : '';
    super(`Reward function "${rewardName}"${where}: ${detail}`);
    this.name = 'RewardError';
  }
}

/** One reward function as the runner sees it: batched and possibly asynchronous (sandboxed). */
export interface RewardFunction {
  readonly name: string;
  /** One score per completion (null = not applicable). Values are checked by the runner. */
  score(completions: readonly string[], problems: readonly Problem[]): Promise<unknown[]> | unknown[];
}

export interface RewardResult {
  /** Weighted nansum per completion. */
  rewards: number[];
  /** Raw scores per function name, per completion. */
  perFunction: Record<string, (number | null)[]>;
  /** rewards/<name>/mean over non-null scores; absent when a function applied to nothing. */
  means: Record<string, number>;
}

/**
 * Built-in rewards are plain synchronous functions from our own code: they can't be interrupted,
 * so a slow one is caught after the fact (it still fails the step, so it gets noticed).
 */
export function fromRewardFn(r: NamedReward, timeLimitMs = 1000): RewardFunction {
  return {
    name: r.name,
    score(completions, problems) {
      return completions.map((c, i) => {
        const t0 = Date.now();
        let v: unknown;
        try {
          v = r.fn(c, problems[i]!);
        } catch (e) {
          throw new RewardError(r.name, 'threw', `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}`);
        }
        const dt = Date.now() - t0;
        if (dt > timeLimitMs) throw new RewardError(r.name, 'timeout', `took ${dt} ms on one completion (limit ${timeLimitMs} ms)`);
        return v;
      });
    },
  };
}

/** Check one returned value: a finite number or null, else a RewardError that says what came back. */
export function checkRewardValue(name: string, v: unknown, index: number): number | null {
  if (v === null) return null;
  if (typeof v !== 'number') {
    const what = v === undefined ? 'undefined (is a `return` missing?)' : `a ${typeof v} (${String(v).slice(0, 40)})`;
    throw new RewardError(name, 'type', `returned ${what} for completion ${index}; it must return a number, or null when it does not apply`);
  }
  if (!Number.isFinite(v)) {
    throw new RewardError(name, 'nonfinite', `returned ${v} for completion ${index}; rewards must be finite numbers`);
  }
  return v;
}

export async function runRewards(
  fns: readonly RewardFunction[],
  weights: readonly number[],
  completions: readonly string[],
  problems: readonly Problem[],
): Promise<RewardResult> {
  if (fns.length === 0) throw new Error('runRewards: no reward functions');
  if (weights.length !== fns.length) throw new Error(`runRewards: ${weights.length} weights for ${fns.length} functions`);
  if (problems.length !== completions.length) throw new Error('runRewards: one problem per completion is needed');
  const names = new Set<string>();
  for (const f of fns) {
    if (names.has(f.name)) throw new Error(`runRewards: two reward functions are both named "${f.name}"`);
    names.add(f.name);
  }
  // Functions are independent: sandboxed ones run in their own workers at the same time.
  const raw = await Promise.all(fns.map((f) => Promise.resolve(f.score(completions, problems))));
  const perFunction: Record<string, (number | null)[]> = {};
  const means: Record<string, number> = {};
  const rewards = new Array<number>(completions.length).fill(0);
  fns.forEach((f, j) => {
    const vals = raw[j]!;
    if (vals.length !== completions.length) {
      throw new RewardError(f.name, 'type', `returned ${vals.length} scores for ${completions.length} completions`);
    }
    const checked = vals.map((v, i) => checkRewardValue(f.name, v, i));
    perFunction[f.name] = checked;
    let s = 0;
    let n = 0;
    checked.forEach((v, i) => {
      if (v === null) return;
      rewards[i]! += weights[j]! * v;
      s += v;
      n++;
    });
    if (n > 0) means[`rewards/${f.name}/mean`] = s / n;
  });
  return { rewards, perFunction, means };
}
