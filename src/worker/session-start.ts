/**
 * Start and Resume: the task, the rewards and the config (fitted to memory) for a new trainer; a
 * resumed run takes them from its checkpoint, a new one probes the base model first when probes are on.
 */
import type { Command, RunState, TaskSpec } from './protocol';
import { ConfigError, validateConfig, type GRPOConfig } from '../core/grpo/config';
import { GRPOTrainer } from '../core/grpo/trainer';
import type { RewardFunction } from '../core/rewards/runner';
import { generate } from '../core/model/generate';
import { isCorrect } from '../core/rewards/builtin';
import { createTask } from '../core/tasks/index';
import { ANSWER_CLOSE } from '../core/tasks/prompt';
import { decodeHistory, HISTORY_FILE } from './run-history';
import { longestPrompt } from './session-helpers';
import { DEFAULT_BUILTINS } from './session-rewards';
import { recover, renderer, textTokenizer } from './session-model';
import { restoreCheckpoint, type OptimizerTensors } from './session-checkpoint';
import { evalProbes } from './session-probes';
import { startLoop } from './session-loop';
import type { SessionContext, SessionRecord } from './session-context';

type StartCommand = Extract<Command, { type: 'start' }>;

export async function start(ctx: SessionContext, cmd: StartCommand): Promise<void> {
  if (!ctx.loaded) throw new ConfigError('model', 'load a model before starting');
  if (ctx.state === 'running') return;
  ctx.disposeRun();
  if (ctx.broken) await recover(ctx);
  const restored = cmd.resume ? await restoreCheckpoint(ctx) : null;
  const config = await prepareRun(ctx, cmd, restored?.record ?? null);
  if (restored) return resumeRun(ctx, restored.record, restored.optimizer, config);
  await beginRun(ctx);
}

/** The task, rewards, config and trainer of the run; returns the config it trains with. */
async function prepareRun(ctx: SessionContext, cmd: StartCommand, record: SessionRecord | null): Promise<GRPOConfig> {
  const loaded = ctx.loaded!;
  const taskSpec: TaskSpec = record?.task ?? cmd.task ?? { kind: 'toy-world' };
  ctx.task = createTask(taskSpec);
  const builtins = record?.builtinRewards ?? cmd.builtinRewards ?? DEFAULT_BUILTINS;
  const user = record?.rewards ?? cmd.rewards ?? [];
  const { fns, weights } = await ctx.rewards.build(builtins, user, ctx.env.rewardTimeLimitMs ?? 1000);
  ctx.rewards.fns = fns;
  // Resuming keeps the saved knobs unless the command changes some (a longer max_steps, say).
  const patch: Record<string, unknown> = { ...(record ? record.state.config : { reward_weights: weights }), ...ctx.pendingConfig, ...(cmd.config ?? {}) };
  let config: GRPOConfig = validateConfig(patch);
  const promptLength = longestPrompt(ctx.task, renderer(loaded), textTokenizer(loaded), config.scaffold_hard_problems);
  const fitted = ctx.memory.fit(loaded.model.config, config, config.micro_batch_size === 0 || (record?.microBatchAuto ?? false), promptLength, ctx.backend?.name ?? 'cpu');
  config = validateConfig({ ...fitted.config });
  if (fitted.warning) ctx.emit({ type: 'log', level: 'warn', message: fitted.warning });
  ctx.emit({ type: 'memoryPlan', plan: ctx.memory.event });
  ctx.probeEvery = record?.probeEvery ?? cmd.probeEvery ?? 0;
  // A resumed run probes as many problems as before, so its probe curve stays comparable.
  const probeCount = record?.probeCount ?? cmd.probeCount;
  if (probeCount !== undefined) ctx.probeCount = probeCount;
  ctx.probeMode = record?.probeMode ?? cmd.probeMode ?? 'greedy';
  ctx.runRecord = { model: loaded.label, task: taskSpec, builtinRewards: builtins, rewards: user, probeEvery: ctx.probeEvery, probeMode: ctx.probeMode, ...(probeCount !== undefined ? { probeCount } : {}) };
  ctx.trainer = makeTrainer(ctx, config, fns);
  return config;
}

function makeTrainer(ctx: SessionContext, config: GRPOConfig, rewards: RewardFunction[]): GRPOTrainer {
  const loaded = ctx.loaded!;
  const tok = loaded.tokenizer;
  return new GRPOTrainer({
    policy: loaded.model,
    tokenizer: textTokenizer(loaded),
    problems: ctx.task!,
    renderPrompt: renderer(loaded),
    rewards,
    generate,
    config,
    eosTokenIds: tok.eosTokenIds,
    padTokenId: tok.padTokenId,
    stopStrings: [ANSWER_CLOSE],
    solved: (c, p) => isCorrect(c, p),
  });
}

function resumeRun(ctx: SessionContext, record: SessionRecord, optimizer: OptimizerTensors, config: GRPOConfig): void {
  const step = record.state.step;
  ctx.trainer!.importState(record.state, optimizer);
  ctx.savedStep = step;
  // The saved run's charts, probes and log first, so the page draws them before new steps.
  ctx.history.reset(decodeHistory(ctx.resumeFiles?.get(HISTORY_FILE)));
  ctx.emit({ type: 'history', history: ctx.history.upTo(step) });
  ctx.emit({ type: 'resumed', step, config: { ...config }, probeEvery: ctx.probeEvery, task: ctx.runRecord!.task, probeMode: ctx.probeMode });
  ctx.emit({ type: 'log', level: 'info', message: `Resumed at step ${step}.` });
  ctx.resumeFiles = null;
  startLoop(ctx);
}

async function beginRun(ctx: SessionContext): Promise<void> {
  ctx.history.reset();
  ctx.savedStep = null;
  if (ctx.probeEvery > 0) {
    // Running already while the base model is probed: Pause and Stop work during it.
    ctx.setState('running');
    // The base model's scores are the reference every later probe is read against.
    ctx.probingBase = true;
    try {
      await evalProbes(ctx, 'base');
    } finally {
      ctx.probingBase = false;
    }
    const now = ctx.state as RunState;
    if (now !== 'running') {
      if (now === 'stopping') ctx.setState('ready');
      return;
    }
  }
  startLoop(ctx);
}
