/** The training loop: steps one after another while the state is `running`, with events for each. */
import { ConfigError } from '../core/grpo/config';
import { NonFiniteError } from '../core/grpo/optimizer';
import { RewardError } from '../core/rewards/runner';
import { yieldToEventLoop } from './yield';
import { rolloutViews } from './rollout-views';
import { StopRequested } from './session-helpers';
import { textTokenizer } from './session-model';
import { evalProbes } from './session-probes';
import { autoSave } from './session-checkpoint';
import { fail } from './session-fail';
import type { SessionContext } from './session-context';

export function startLoop(ctx: SessionContext): void {
  ctx.setState('running');
  if (ctx.loop) return;
  ctx.loop = runLoop(ctx).finally(() => {
    ctx.loop = null;
  });
}

async function runLoop(ctx: SessionContext): Promise<void> {
  while (ctx.state === 'running' && ctx.trainer) {
    const ok = await oneStep(ctx);
    if (!ok) return;
    if (ctx.trainer.step >= ctx.trainer.config.max_steps) {
      ctx.emit({ type: 'log', level: 'info', message: `Reached max_steps = ${ctx.trainer.config.max_steps}.` });
      await autoSave(ctx);
      ctx.setState('ready', 'max_steps reached', 'max_steps');
      return;
    }
    await yieldToEventLoop();
  }
}

/** One step with events; false when it failed (the state says why). */
async function oneStep(ctx: SessionContext): Promise<boolean> {
  const trainer = ctx.trainer!;
  const every = ctx.opts.yieldEvery ?? 4;
  try {
    // Set before the step: a step that fails midway may already have moved the weights.
    ctx.weightsChanged = true;
    const r = await trainer.trainStep({
      onRolloutStep: async (s, total) => {
        if (s % every === 0) {
          ctx.emit({ type: 'progress', phase: 'rollout', done: s + 1, total });
          await yieldToEventLoop();
          // Stop mid-rollout ends the step before any update: the model stays as it was.
          if (ctx.state === 'stopping') throw new StopRequested();
        }
      },
      onUpdate: async (pass, total) => {
        ctx.emit({ type: 'progress', phase: 'update', done: pass, total });
        await yieldToEventLoop();
        if (pass === 0 && ctx.state === 'stopping') throw new StopRequested();
      },
    });
    ctx.emit({ type: 'metrics', step: r.step, metrics: r.metrics });
    ctx.emit({ type: 'rollouts', step: r.step, groups: rolloutViews(r, textTokenizer(ctx.loaded!)) });
    if (ctx.probeEvery > 0 && r.step % ctx.probeEvery === 0) await evalProbes(ctx);
    const saveEvery = ctx.opts.checkpointEvery ?? 10;
    if (saveEvery > 0 && r.step % saveEvery === 0) await autoSave(ctx);
    return true;
  } catch (e) {
    // Reward and non-finite errors leave the model as it was: pause so the user can fix and resume.
    fail(ctx, e, e instanceof RewardError || e instanceof NonFiniteError ? 'paused' : 'error');
    return false;
  }
}

/** Step, while paused: one step and no loop. */
export async function singleStep(ctx: SessionContext): Promise<void> {
  if (!ctx.trainer) throw new ConfigError('step', 'start a run first (Start, then Pause, then Step)');
  if (ctx.state === 'running') return;
  ctx.setState('paused');
  await oneStep(ctx);
}
