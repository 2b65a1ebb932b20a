/**
 * The run's reward functions: the built-in ones and the user's, each user function in its own
 * sandbox, rebuilt when the page sends changed functions on Resume.
 */
import { ConfigError } from '../core/grpo/config';
import { fromRewardFn, type RewardFunction } from '../core/rewards/runner';
import { createSandboxedReward, type SandboxedRewardFunction } from '../core/rewards/sandbox';
import { builtinReward } from '../core/rewards/builtin';
import type { UserRewardSpec } from './protocol';
import type { SessionContext } from './session-context';

export type BuiltinSpec = { name: string; weight: number };

export const DEFAULT_BUILTINS: BuiltinSpec[] = [
  { name: 'correctness', weight: 1 },
  { name: 'format', weight: 0.2 },
];

export class SessionRewards {
  private sandboxes: SandboxedRewardFunction[] = [];
  /** The array the trainer holds. */
  fns: RewardFunction[] = [];

  async build(builtins: BuiltinSpec[], user: UserRewardSpec[], timeLimitMs: number): Promise<{ fns: RewardFunction[]; weights: number[] }> {
    this.disposeSandboxes();
    const fns: RewardFunction[] = builtins.map((b) => fromRewardFn({ name: b.name, fn: builtinReward(b.name) }));
    const weights = builtins.map((b) => b.weight);
    for (const u of user) {
      const s = await createSandboxedReward({ name: u.name, source: u.source }, { timeLimitMs });
      this.sandboxes.push(s);
      // Syntax errors surface now, before any rollout is spent.
      await s.start();
      fns.push(s);
      weights.push(u.weight);
    }
    if (fns.length === 0) throw new ConfigError('rewards', 'no reward function is selected; pick a built-in reward or write one');
    return { fns, weights };
  }

  disposeSandboxes(): void {
    for (const s of this.sandboxes) s.dispose();
    this.sandboxes = [];
  }
}

export function sameRewards(
  current: { builtinRewards: BuiltinSpec[]; rewards: UserRewardSpec[] },
  builtins: BuiltinSpec[],
  user: UserRewardSpec[],
): boolean {
  return JSON.stringify([current.builtinRewards, current.rewards]) === JSON.stringify([builtins, user]);
}

/** After a reward error the page sends the functions it has now: the changed ones are rebuilt. */
export async function replaceRewards(ctx: SessionContext, builtins: BuiltinSpec[] | undefined, user: UserRewardSpec[] | undefined): Promise<void> {
  if (!ctx.trainer || !ctx.runRecord) return;
  const nextBuiltins = builtins ?? ctx.runRecord.builtinRewards;
  const nextUser = user ?? ctx.runRecord.rewards;
  if (sameRewards(ctx.runRecord, nextBuiltins, nextUser)) return;
  const { fns, weights } = await ctx.rewards.build(nextBuiltins, nextUser, ctx.env.rewardTimeLimitMs ?? 1000);
  // The trainer holds this very array: replacing its contents swaps the functions between steps.
  ctx.rewards.fns.splice(0, ctx.rewards.fns.length, ...fns);
  ctx.trainer.setConfig({ reward_weights: weights });
  ctx.runRecord = { ...ctx.runRecord, builtinRewards: nextBuiltins, rewards: nextUser };
  ctx.emit({ type: 'log', level: 'info', message: `Reward functions updated: ${fns.map((f) => f.name).join(', ')}.` });
}
