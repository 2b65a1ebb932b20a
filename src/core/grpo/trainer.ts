/**
 * One GRPO step end to end: sample prompts → G rollouts each → rewards → group-relative
 * advantages → μ passes of clipped-surrogate updates with AdamW. Owns the policy's optimizer
 * state and, when beta > 0, a frozen reference copy made at construction.
 */
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '../rng';
import type { Problem } from '../types';
import type { CausalLM } from '../model/causal-lm';
import { cloneModel } from '../model/causal-lm';
import { packBatch, tokenLogProbs } from '../model/logprobs';
import { generate as engineGenerate } from '../model/generate';
import type { FinishReason, GenerateOptions, GenerateResult, PackedBatch } from '../model/types';
import { runRewards, type RewardFunction } from '../rewards/runner';
import { computeAdvantages, mean } from './advantages';
import { ConfigError, epsilonHigh, rewardWeights, validateConfig, type GRPOConfig } from './config';
import { grpoLoss, readLossMetrics } from './loss';
import { checkRolloutFits, minMax } from './limits';
import { AdamW, NonFiniteError, learningRateAt } from './optimizer';

export interface ProblemSource {
  sample(rng: Rng, n: number): Problem[];
}

/** Renders a problem as the prompt text the model continues; scaffoldLevel 1..4 adds solution chunks. */
export type PromptRenderer = (problem: Problem, opts: { scaffoldLevel?: number }) => string;

/** What the trainer needs of a tokenizer. encode returns the ids the model sees (BOS included where the model wants one). */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export type GenerateFn = (model: CausalLM, prompts: number[][], opts: GenerateOptions) => Promise<GenerateResult>;

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

export interface StepHooks {
  /** Called after each decoding step of a rollout (await it to yield to the event loop). */
  onRolloutStep?: (step: number, total: number) => void | Promise<void>;
  /** Called before each optimizer pass. */
  onUpdate?: (pass: number, total: number) => void | Promise<void>;
}

export interface CompletionView {
  text: string;
  tokens: string[];
  reward: number;
  rewards: Record<string, number | null>;
  advantage: number;
  finish: FinishReason;
}

export interface RolloutGroup {
  problemId: string;
  prompt: string;
  /** 0 = plain prompt; 1..4 = scaffolded. */
  scaffoldLevel: number;
  /** False when the group was dropped (zero std under drop_zero_std_groups) and not trained on. */
  trained: boolean;
  completions: CompletionView[];
}

/** What a checkpoint needs besides the weights to continue a run. */
export interface TrainerState {
  step: number;
  adamStep: number;
  config: GRPOConfig;
}

export interface StepResult {
  step: number;
  metrics: Record<string, number>;
  groups: RolloutGroup[];
  /** True when the weights were updated (false: every group was dropped for zero std). */
  updated: boolean;
}

/** A rolled-out, scored group of G completions of one prompt. */
interface Group {
  problem: Problem;
  prompt: string;
  promptIds: number[];
  scaffoldLevel: number;
  tokens: number[][];
  finish: FinishReason[];
  texts: string[];
  rewards: number[];
  perFunction: Record<string, (number | null)[]>;
}

export class GRPOTrainer {
  readonly policy: CausalLM;
  private reference: CausalLM | null = null;
  private optimizer: AdamW;
  private cfg: GRPOConfig;
  private rng: Rng;
  private stepIndex = 0;
  private readonly eos: number[];
  private readonly pad: number;
  private readonly varByName: Map<string, tf.Variable>;

  constructor(private readonly opts: TrainerOptions) {
    this.policy = opts.policy;
    this.cfg = validateConfig(opts.config ?? {});
    rewardWeights(this.cfg, opts.rewards.length);
    if (opts.rewards.length === 0) throw new ConfigError('reward_weights', 'at least one reward function is needed');
    const mc = opts.policy.config;
    this.eos = opts.eosTokenIds ?? mc.eosTokenIds;
    const pad = opts.padTokenId ?? mc.padTokenId ?? this.eos[0];
    if (pad === undefined) throw new ConfigError('model', 'the model has neither a pad nor an EOS token id; pass padTokenId');
    this.pad = pad;
    this.rng = new Rng(this.cfg.seed);
    this.varByName = new Map(opts.policy.weights);
    if (!opts.policy.trainable) throw new ConfigError('model', 'the policy was loaded without trainable weights');
    this.optimizer = this.makeOptimizer();
    if (this.cfg.beta > 0) this.reference = cloneModel(opts.policy, { trainable: false });
  }

  private makeOptimizer(): AdamW {
    return new AdamW(this.varByName, {
      beta1: this.cfg.adam_beta1,
      beta2: this.cfg.adam_beta2,
      epsilon: this.cfg.adam_epsilon,
      weightDecay: this.cfg.weight_decay,
      maxGradNorm: this.cfg.max_grad_norm,
    });
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
    if (adamChanged) {
      // Moments are kept: only the hyper-parameters change. AdamW reads them per step.
      this.optimizer.setOptions({
        beta1: next.adam_beta1,
        beta2: next.adam_beta2,
        epsilon: next.adam_epsilon,
        weightDecay: next.weight_decay,
        maxGradNorm: next.max_grad_norm,
      });
    }
    return next;
  }

  private tokenize(text: string): number[] {
    const ids = this.opts.tokenizer.encode(text);
    if (ids.length === 0) throw new ConfigError('prompt', `the prompt "${text.slice(0, 40)}" tokenizes to nothing`);
    return ids;
  }

  private stripEos(tokens: number[]): number[] {
    return tokens.length > 0 && this.eos.includes(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
  }

  /** G rollouts for each problem at the given scaffold levels, scored. One batched generate call. */
  private async rollout(problems: Problem[], levels: number[], hooks: StepHooks, timing: { genTime: number; genTokens: number }): Promise<Group[]> {
    const G = this.cfg.num_generations;
    const prompts = problems.map((p, i) => this.opts.renderPrompt(p, levels[i] ? { scaffoldLevel: levels[i] } : {}));
    const promptIds = prompts.map((p) => this.tokenize(p));
    checkRolloutFits(this.policy.config, this.cfg, problems.map((problem, i) => ({ problem, ids: promptIds[i]! })));
    const rows: number[][] = [];
    for (const ids of promptIds) for (let g = 0; g < G; g++) rows.push(ids);
    const t0 = performance.now();
    const maxNew = this.cfg.max_completion_length;
    const res = await (this.opts.generate ?? engineGenerate)(this.policy, rows, {
      maxNewTokens: maxNew,
      temperature: this.cfg.temperature,
      topK: this.cfg.top_k > 0 ? this.cfg.top_k : undefined,
      topP: this.cfg.top_p < 1 ? this.cfg.top_p : undefined,
      seed: Math.floor(this.rng.next() * 2 ** 31),
      eosTokenIds: this.eos,
      padTokenId: this.pad,
      stopStrings: this.opts.stopStrings,
      decode: (ids) => this.opts.tokenizer.decode(ids),
      onStep: hooks.onRolloutStep ? (s) => hooks.onRolloutStep!(s, maxNew) : undefined,
    });
    timing.genTime += (performance.now() - t0) / 1000;
    for (const t of res.tokens) timing.genTokens += t.length;
    // Some tokenizers (transformers.js) refuse to decode an empty list: a lone EOS is the empty text.
    const texts = res.tokens.map((t) => {
      const ids = this.stripEos(t);
      return ids.length > 0 ? this.opts.tokenizer.decode(ids) : '';
    });
    const rowProblems = problems.flatMap((p) => new Array<Problem>(G).fill(p));
    const scored = await runRewards(this.opts.rewards, rewardWeights(this.cfg, this.opts.rewards.length), texts, rowProblems);
    return problems.map((problem, i) => {
      const sl = (xs: readonly unknown[]) => xs.slice(i * G, (i + 1) * G);
      const perFunction: Record<string, (number | null)[]> = {};
      for (const [k, v] of Object.entries(scored.perFunction)) perFunction[k] = sl(v) as (number | null)[];
      return {
        problem,
        prompt: prompts[i]!,
        promptIds: promptIds[i]!,
        scaffoldLevel: levels[i] ?? 0,
        tokens: sl(res.tokens) as number[][],
        finish: sl(res.finish) as FinishReason[],
        texts: sl(texts) as string[],
        rewards: sl(scored.rewards) as number[],
        perFunction,
      };
    });
  }

  private allFailed(g: Group): boolean {
    const solved = this.opts.solved ?? ((_c: string, _p: Problem, r: number) => r > 0);
    return g.texts.every((t, i) => !solved(t, g.problem, g.rewards[i]!));
  }

  private static zeroStd(g: Group): boolean {
    return g.rewards.every((r) => Math.abs(r - g.rewards[0]!) <= 1e-8);
  }

  /**
   * One GRPO step. A RewardError propagates before any update (the model is untouched); so does a
   * NonFiniteError from the optimizer (checked before anything is applied).
   */
  async trainStep(hooks: StepHooks = {}): Promise<StepResult> {
    const cfg = this.cfg;
    const G = cfg.num_generations;
    const timing = { genTime: 0, genTokens: 0 };
    const stepRng = this.rng.fork(this.stepIndex);
    const first = await this.rollout(this.opts.problems.sample(stepRng, cfg.prompts_per_step), [], hooks, timing);
    // Reward metrics describe the policy on fresh prompts: measured before scaffolding/resampling.
    const firstRewards = first.flatMap((g) => g.rewards);
    const firstAdv = computeAdvantages(firstRewards, G, cfg.scale_rewards);
    const metrics: Record<string, number> = {
      reward: mean(firstRewards),
      reward_std: firstAdv.rewardStd,
      frac_reward_zero_std: firstAdv.fracRewardZeroStd,
    };
    for (const name of Object.keys(first[0]!.perFunction)) {
      const vals = first.flatMap((g) => g.perFunction[name]!).filter((v): v is number => v !== null);
      if (vals.length > 0) metrics[`rewards/${name}/mean`] = mean(vals);
    }
    const all = first.flatMap((g) => g.tokens.map((t) => t.length));
    metrics['completions/mean_length'] = mean(all);
    const lengths = minMax(all);
    metrics['completions/min_length'] = lengths.min;
    metrics['completions/max_length'] = lengths.max;
    metrics['completions/clipped_ratio'] = first.flatMap((g) => g.finish).filter((f) => f === 'length').length / all.length;

    let groups = first;
    if (cfg.scaffold_hard_problems) {
      let scaffolded = 0;
      for (let level = 1; level <= 4; level++) {
        const hard = groups.map((g, i) => (this.allFailed(g) && g.problem.solution ? i : -1)).filter((i) => i >= 0);
        if (hard.length === 0) break;
        const redo = await this.rollout(hard.map((i) => groups[i]!.problem), hard.map(() => level), hooks, timing);
        groups = [...groups];
        hard.forEach((gi, j) => (groups[gi] = redo[j]!));
        scaffolded = hard.length;
        if (level === 1) metrics['scaffold/groups'] = hard.length;
      }
      metrics['scaffold/mean_level'] = mean(groups.map((g) => g.scaffoldLevel));
      metrics['scaffold/still_failed'] = scaffolded > 0 ? groups.filter((g) => this.allFailed(g)).length : 0;
    }

    const dropped: Group[] = [];
    if (cfg.drop_zero_std_groups) {
      let kept = groups.filter((g) => !GRPOTrainer.zeroStd(g));
      dropped.push(...groups.filter((g) => GRPOTrainer.zeroStd(g)));
      for (let round = 0; round < cfg.max_resample_rounds && kept.length < cfg.prompts_per_step; round++) {
        const extra = await this.rollout(this.opts.problems.sample(stepRng, cfg.prompts_per_step - kept.length), [], hooks, timing);
        kept = [...kept, ...extra.filter((g) => !GRPOTrainer.zeroStd(g))];
        dropped.push(...extra.filter((g) => GRPOTrainer.zeroStd(g)));
      }
      metrics['dynamic_sampling/kept_groups'] = kept.length;
      metrics['dynamic_sampling/dropped_groups'] = dropped.length;
      groups = kept.slice(0, cfg.prompts_per_step);
    }

    metrics['rollout_time_s'] = timing.genTime;
    metrics['tokens_per_s'] = timing.genTime > 0 ? timing.genTokens / timing.genTime : 0;
    const lr = learningRateAt(this.stepIndex, cfg.learning_rate, cfg.lr_scheduler_type, cfg.max_steps, cfg.warmup_ratio);
    metrics['learning_rate'] = lr;

    const adv = groups.length > 0 ? computeAdvantages(groups.flatMap((g) => g.rewards), G, cfg.scale_rewards).advantages : [];
    let updated = false;
    const t1 = performance.now();
    if (groups.length > 0) {
      Object.assign(metrics, await this.update(groups, adv, lr, hooks));
      updated = true;
    }
    metrics['update_time_s'] = (performance.now() - t1) / 1000;

    const view = (g: Group, advs: number[] | null, trained: boolean): RolloutGroup => ({
      problemId: g.problem.id,
      prompt: g.prompt,
      scaffoldLevel: g.scaffoldLevel,
      trained,
      completions: g.texts.map((text, i) => ({
        text,
        tokens: g.tokens[i]!.map((id) => this.opts.tokenizer.decode([id])),
        reward: g.rewards[i]!,
        rewards: Object.fromEntries(Object.entries(g.perFunction).map(([k, v]) => [k, v[i]!])),
        advantage: advs ? advs[i]! : 0,
        finish: g.finish[i]!,
      })),
    });
    const out: RolloutGroup[] = groups.map((g, i) => view(g, adv.slice(i * G, (i + 1) * G), true));
    for (const g of dropped) out.push(view(g, null, false));

    this.stepIndex += 1;
    const mem = tf.memory();
    metrics['num_tensors'] = mem.numTensors;
    metrics['bytes'] = mem.numBytes;
    return { step: this.stepIndex, metrics, groups: out, updated };
  }

  private async update(groups: Group[], advantages: number[], lr: number, hooks: StepHooks): Promise<Record<string, number>> {
    const cfg = this.cfg;
    const prompts: number[][] = [];
    const completions: number[][] = [];
    const dropRow: boolean[] = [];
    for (const g of groups) {
      g.tokens.forEach((t, i) => {
        prompts.push(g.promptIds);
        // An empty completion still needs one position so that the row has a shape; it is masked out.
        completions.push(t.length > 0 ? t : [this.pad]);
        dropRow.push(t.length === 0 || (cfg.mask_truncated_completions && g.finish[i] === 'length'));
      });
    }
    const rows = prompts.length;
    const T = cfg.temperature;
    // Micro-batches bound the activation memory (logits are rows × length × vocab); each is packed
    // on its own, so a short micro-batch also carries less padding.
    const size = cfg.micro_batch_size > 0 ? cfg.micro_batch_size : rows;
    interface Chunk {
      batch: PackedBatch;
      mask: tf.Tensor2D;
      adv: tf.Tensor1D;
      tokens: number;
      ref: tf.Tensor2D | null;
      old: tf.Tensor2D | null;
    }
    const chunks: Chunk[] = [];
    try {
      for (let s = 0; s < rows; s += size) {
        const e = Math.min(rows, s + size);
        const batch = packBatch(prompts.slice(s, e), completions.slice(s, e), this.pad);
        const L = batch.length;
        const maskData = Float32Array.from(batch.completionMask);
        for (let b = s; b < e; b++) if (dropRow[b]) maskData.fill(0, (b - s) * L, (b - s + 1) * L);
        let tokens = 0;
        for (const m of maskData) tokens += m;
        const chunk: Chunk = { batch, mask: tf.tensor2d(maskData, [e - s, L]), adv: tf.tensor1d(advantages.slice(s, e)), tokens, ref: null, old: null };
        chunks.push(chunk);
        chunk.ref = this.reference ? tf.tidy(() => tokenLogProbs(this.reference!, batch, T).logprobs) : null;
        // μ > 1: ratios are against the policy that sampled, so its log-probs are taken once, before any update.
        chunk.old = cfg.num_iterations > 1 ? tf.tidy(() => tokenLogProbs(this.policy, batch, T).logprobs) : null;
      }
      const totalTokens = chunks.reduce((a, c) => a + c.tokens, 0);
      // Every micro-batch divides by the whole batch's counts, so the summed gradient is the whole batch's.
      const normalizer = { sequences: rows, tokens: Math.max(1, totalTokens) };
      const vars = [...this.varByName.values()];
      const sums: Record<string, number> = {};
      let gradNorm = 0;
      let lossSum = 0;
      for (let it = 0; it < cfg.num_iterations; it++) {
        await hooks.onUpdate?.(it, cfg.num_iterations);
        let acc: Record<string, tf.Tensor> | null = null;
        let passLoss = 0;
        try {
          for (const c of chunks) {
            let metricTensors: ReturnType<typeof grpoLoss>['metrics'] | null = null;
            const { value, grads } = tf.variableGrads(() => {
              const { logprobs, entropy } = tokenLogProbs(this.policy, c.batch, T);
              const out = grpoLoss(
                { logprobs, oldLogprobs: c.old, refLogprobs: c.ref, advantages: c.adv, mask: c.mask, entropy },
                {
                  lossType: cfg.loss_type,
                  epsilon: cfg.epsilon,
                  epsilonHigh: epsilonHigh(cfg),
                  beta: cfg.beta,
                  entropyCoef: cfg.entropy_coef,
                  maxCompletionLength: cfg.max_completion_length,
                  normalizer,
                },
              );
              metricTensors = out.metrics;
              for (const m of Object.values(out.metrics)) tf.keep(m);
              return out.loss;
            }, vars);
            passLoss += (await value.data())[0]!;
            value.dispose();
            const m = await readLossMetrics(metricTensors!);
            // Metrics are masked means per micro-batch: weight them by its token count.
            for (const [k, v] of Object.entries(m)) sums[k] = (sums[k] ?? 0) + (v * c.tokens) / normalizer.tokens;
            const prev: Record<string, tf.Tensor> | null = acc;
            const next: Record<string, tf.Tensor> = {};
            for (const [name, v] of this.varByName) {
              const g = grads[v.name]!;
              next[name] = prev ? tf.add(prev[name]!, g) : g;
              if (prev) {
                prev[name]!.dispose();
                g.dispose();
              }
            }
            acc = next;
          }
          if (!Number.isFinite(passLoss)) throw new NonFiniteError('loss', `loss = ${passLoss}`);
          gradNorm = (await this.optimizer.step(acc!, lr)).gradNorm;
        } finally {
          if (acc) for (const g of Object.values(acc)) g.dispose();
        }
        lossSum += passLoss;
      }
      const n = cfg.num_iterations;
      const out: Record<string, number> = { policy_loss: lossSum / n, grad_norm: gradNorm };
      for (const [k, v] of Object.entries(sums)) {
        // TRL logs kl only when beta ≠ 0.
        if (k === 'kl' && cfg.beta === 0) continue;
        out[k] = v / n;
      }
      return out;
    } finally {
      for (const c of chunks) {
        c.mask.dispose();
        c.adv.dispose();
        c.ref?.dispose();
        c.old?.dispose();
      }
    }
  }

  /** Linear weights the engine holds transposed go back to Hugging Face's layout in checkpoints. */
  private layoutFlip(): (name: string, t: tf.Tensor) => tf.Tensor {
    const linear = new Set(this.policy.tensorSpecs().filter((s) => s.linear).map((s) => s.name));
    const flip = this.policy.transposedLinear;
    return (name, t) => (flip && linear.has(name) ? tf.transpose(t) : t);
  }

  async exportState(): Promise<{ state: TrainerState; optimizer: Map<string, { shape: number[]; data: Float32Array }> }> {
    const { step, tensors } = await this.optimizer.exportState(this.layoutFlip());
    return { state: { step: this.stepIndex, adamStep: step, config: this.cfg }, optimizer: tensors };
  }

  /**
   * Continue from a checkpoint: the step count (for the LR schedule) and AdamW's moments. The
   * prompt stream restarts from a seed derived from the step, so it does not repeat step 0's.
   */
  importState(state: TrainerState, optimizer: ReadonlyMap<string, { shape: number[]; data: Float32Array }>): void {
    this.optimizer.importState(state.adamStep, optimizer, this.layoutFlip());
    this.stepIndex = state.step;
    this.rng = new Rng((this.cfg.seed ^ Math.imul(state.step + 1, 0x9e3779b1)) >>> 0);
  }

  dispose(): void {
    this.optimizer.dispose();
    this.reference?.dispose();
    this.reference = null;
  }
}
