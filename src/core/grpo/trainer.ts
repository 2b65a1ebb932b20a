/**
 * One GRPO step as a short story: collect a batch of scored completions, compute advantages
 * once, update the policy, report what was computed. The trainer owns the run's state: the
 * config, the step count, the sampling RNG, AdamW's moments and, when beta > 0, a frozen
 * reference copy of the starting policy. See docs/ARCHITECTURE.md for the files of the step.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../rng';
import type { Problem } from '../types';
import type { CausalLM } from '../model/causal-lm';
import { cloneModel } from '../model/causal-lm';
import type { RewardFunction } from '../rewards/runner';
import { batchAdvantages } from './advantages';
import type { Batch } from './batch';
import { ConfigError, rewardWeights, validateConfig, type GRPOConfig } from './config';
import { AdamW, learningRateAt, type AdamWOptions } from './optimizer';
import { Rollout, type GenerateFn, type ProblemSource, type PromptRenderer, type RolloutHooks, type TextTokenizer } from './rollout';
import { stepMetrics } from './step-metrics';
import { update, type UpdateHooks } from './update';

export type { GenerateFn, ProblemSource, PromptRenderer, TextTokenizer } from './rollout';
export type { Batch, Group } from './batch';

export interface TrainerOptions {
  policy: CausalLM;
  tokenizer: TextTokenizer;
  problems: ProblemSource;
  renderPrompt: PromptRenderer;
  rewards: RewardFunction[];
  /** Defaults to the engine's batched KV-cache sampler. */
  generate?: GenerateFn;
  config?: Partial<GRPOConfig>;
  /** Defaults to the model config's EOS ids. */
  eosTokenIds?: number[];
  /** Defaults to the model config's pad id, else the first EOS id. */
  padTokenId?: number;
  stopStrings?: string[];
  /**
   * Whether a completion solved its problem, for hard-problem scaffolding (a group "all failed"
   * when none did). Default: total reward > 0.
   */
  solved?: (completion: string, problem: Problem, reward: number) => boolean;
}

export type StepHooks = RolloutHooks & UpdateHooks;

/** What a checkpoint needs besides the weights to continue a run. */
export interface TrainerState {
  step: number;
  adamStep: number;
  config: GRPOConfig;
}

export interface StepResult {
  step: number;
  metrics: Record<string, number>;
  batch: Batch;
  /** One per completion of batch.groups, in order. */
  advantages: number[];
  /** True when the weights were updated (false: every group was dropped for zero std). */
  updated: boolean;
}

const adamOptions = (c: GRPOConfig): AdamWOptions => ({
  beta1: c.adam_beta1,
  beta2: c.adam_beta2,
  epsilon: c.adam_epsilon,
  weightDecay: c.weight_decay,
  maxGradNorm: c.max_grad_norm,
});

export class GRPOTrainer {
  readonly policy: CausalLM;
  private reference: CausalLM | null = null;
  private optimizer: AdamW;
  private cfg: GRPOConfig;
  private rng: Rng;
  private stepIndex = 0;
  private readonly rollout: Rollout;
  private readonly vars: Map<string, tf.Variable>;
  private readonly pad: number;

  constructor(private readonly opts: TrainerOptions) {
    this.policy = opts.policy;
    this.cfg = validateConfig(opts.config ?? {});
    rewardWeights(this.cfg, opts.rewards.length);
    if (opts.rewards.length === 0) throw new ConfigError('reward_weights', 'at least one reward function is needed');
    const eos = opts.eosTokenIds ?? opts.policy.config.eosTokenIds;
    const pad = opts.padTokenId ?? opts.policy.config.padTokenId ?? eos[0];
    if (pad === undefined) throw new ConfigError('model', 'the model has neither a pad nor an EOS token id; pass padTokenId');
    if (!opts.policy.trainable) throw new ConfigError('model', 'the policy was loaded without trainable weights');
    this.pad = pad;
    this.rng = new Rng(this.cfg.seed);
    this.vars = new Map(opts.policy.weights);
    this.rollout = new Rollout({ ...opts, eos, pad });
    this.optimizer = new AdamW(this.vars, adamOptions(this.cfg));
    if (this.cfg.beta > 0) this.reference = cloneModel(opts.policy, { trainable: false });
  }

  get config(): GRPOConfig {
    return this.cfg;
  }

  get step(): number {
    return this.stepIndex;
  }

  get hasReference(): boolean {
    return this.reference !== null;
  }

  /**
   * One GRPO step. A RewardError propagates before any update (the model is untouched); so does a
   * NonFiniteError from the optimizer (checked before anything is applied).
   */
  async trainStep(hooks: StepHooks = {}): Promise<StepResult> {
    const cfg = this.cfg;
    const batch = await this.rollout.collect(cfg, this.rng, this.rng.fork(this.stepIndex), hooks);
    const weights = rewardWeights(cfg, this.opts.rewards.length);
    const trained = batchAdvantages(batch.groups, weights, cfg);
    const advantages = trained.advantages;
    const learningRate = learningRateAt(this.stepIndex, cfg.learning_rate, cfg.lr_scheduler_type, cfg.max_steps, cfg.warmup_ratio);
    const t0 = performance.now();
    const ctx = { policy: this.policy, reference: this.reference, optimizer: this.optimizer, vars: this.vars, pad: this.pad };
    const losses = batch.groups.length > 0 ? await update(ctx, batch.groups, advantages, cfg, learningRate, hooks) : null;
    const seconds = (performance.now() - t0) / 1000;
    this.stepIndex += 1;
    const metrics = stepMetrics(cfg, weights, batch, trained, { learningRate, losses, seconds });
    return { step: this.stepIndex, metrics, batch, advantages, updated: losses !== null };
  }

  /**
   * Change knobs between steps. Turning beta on mid-run is refused: the reference must be the
   * starting policy, which is gone by then.
   */
  setConfig(patch: Record<string, unknown>): GRPOConfig {
    const next = validateConfig(patch, this.cfg);
    rewardWeights(next, this.opts.rewards.length);
    if (next.beta > 0 && this.reference === null) {
      throw new ConfigError('beta', 'cannot turn the KL penalty on mid-run (the reference must be the starting model); restart the run with beta > 0');
    }
    const adamChanged = (['adam_beta1', 'adam_beta2', 'adam_epsilon', 'weight_decay', 'max_grad_norm'] as const).some((k) => next[k] !== this.cfg[k]);
    this.cfg = next;
    // Moments are kept: only the hyper-parameters change. AdamW reads them per step.
    if (adamChanged) this.optimizer.setOptions(adamOptions(next));
    return next;
  }

  async exportState(): Promise<{ state: TrainerState; optimizer: Map<string, { shape: number[]; data: Float32Array }> }> {
    const { step, tensors } = await this.optimizer.exportState(this.policy.hfLayoutFlip());
    return { state: { step: this.stepIndex, adamStep: step, config: this.cfg }, optimizer: tensors };
  }

  /**
   * Continue from a checkpoint: the step count (for the LR schedule) and AdamW's moments. The
   * prompt stream restarts from a seed derived from the step, so it does not repeat step 0's.
   */
  importState(state: TrainerState, optimizer: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    this.optimizer.importState(state.adamStep, optimizer, this.policy.hfLayoutFlip());
    this.stepIndex = state.step;
    this.rng = new Rng((this.cfg.seed ^ Math.imul(state.step + 1, 0x9e3779b1)) >>> 0);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.reference?.dispose();
    this.reference = null;
  }
}
