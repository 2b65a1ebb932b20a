/**
 * The update half of a step. The generated batch is cut into steps_per_generation slices (TRL's
 * micro-batches); every gradient_accumulation_steps slices make one optimizer step; each slice
 * is packed into chunks of micro_batch_size rows, a memory bound that does not change the result.
 * Chunks are prepared once (reference and old log-probs included), then each of the μ passes
 * runs every window's chunks, sums their gradients and takes one AdamW step per window.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm';
import { packBatch, tokenLogProbs } from '../model/logprobs';
import type { PackedBatch } from '../model/types';
import type { Group } from './batch';
import { epsilonHigh, stepsPerGeneration, type GRPOConfig } from './config';
import { grpoLoss, readLossMetrics, type LossMetricName, type LossNormalizer, type LossOptions } from './loss';
import { NonFiniteError, type AdamW } from './optimizer';
import { LossMetrics } from './loss-metrics';

export interface UpdateContext {
  policy: CausalLM;
  reference: CausalLM | null;
  optimizer: AdamW;
  vars: ReadonlyMap<string, tf.Variable>;
  pad: number;
}

export interface UpdateHooks {
  /** Called before each optimizer pass. */
  onUpdate?: (pass: number, total: number) => void | Promise<void>;
}

interface Chunk {
  batch: PackedBatch;
  mask: tf.Tensor2D;
  adv: tf.Tensor1D;
  /** Completion tokens that enter the loss. */
  tokens: number;
  ref: tf.Tensor2D | null;
  old: tf.Tensor2D | null;
  /** Which slice (TRL micro-batch) and window (optimizer step) the chunk belongs to. */
  slice: number;
  normalizer: LossNormalizer;
}

type Grads = Record<string, tf.Tensor>;

/** Rows of the batch in order: the prompt, the completion (never empty) and whether the row is masked out. */
function rows(groups: Group[], cfg: GRPOConfig, pad: number): { prompts: number[][]; completions: number[][]; drop: boolean[] } {
  const prompts: number[][] = [];
  const completions: number[][] = [];
  const drop: boolean[] = [];
  for (const g of groups) {
    g.tokens.forEach((t, i) => {
      prompts.push(g.promptIds);
      // An empty completion still needs one position so that the row has a shape; it is masked out.
      completions.push(t.length > 0 ? t : [pad]);
      drop.push(t.length === 0 || (cfg.mask_truncated_completions && g.finish[i] === 'length'));
    });
  }
  return { prompts, completions, drop };
}

/** Counted tokens per row. */
function rowTokens(completions: number[][], drop: boolean[]): number[] {
  return completions.map((c, i) => (drop[i] ? 0 : c.length));
}

/** Old log-probs are needed when the policy can move before a chunk's loss is taken. */
const needsOld = (cfg: GRPOConfig): boolean => cfg.num_iterations > 1 || stepsPerGeneration(cfg) > cfg.gradient_accumulation_steps;

/**
 * Packs every slice into chunks (pushed into `out` as they are made, so that the caller can
 * dispose them if a later one fails) with the counts each chunk's loss is divided by.
 */
function prepareChunks(ctx: UpdateContext, groups: Group[], advantages: number[], cfg: GRPOConfig, out: Chunk[]): void {
  const { prompts, completions, drop } = rows(groups, cfg, ctx.pad);
  const perRow = rowTokens(completions, drop);
  const n = prompts.length;
  // Dynamic sampling can leave fewer groups than steps_per_generation divides evenly: the last slice is then shorter.
  const sliceRows = Math.ceil(n / stepsPerGeneration(cfg));
  const window = cfg.gradient_accumulation_steps;
  const count = (s: number, e: number) => perRow.slice(s, e).reduce((a, b) => a + b, 0);
  for (let slice = 0; slice * sliceRows < n; slice++) {
    const s0 = slice * sliceRows;
    const s1 = Math.min(n, s0 + sliceRows);
    const w0 = Math.floor(slice / window) * window * sliceRows;
    const normalizer = { sequences: s1 - s0, tokens: Math.max(1, count(s0, s1)), windowTokens: Math.max(1, count(w0, w0 + window * sliceRows)), accumulation: window };
    const size = cfg.micro_batch_size > 0 ? Math.min(cfg.micro_batch_size, s1 - s0) : s1 - s0;
    for (let s = s0; s < s1; s += size) {
      const e = Math.min(s1, s + size);
      const batch = packBatch(prompts.slice(s, e), completions.slice(s, e), ctx.pad);
      const L = batch.length;
      const maskData = Float32Array.from(batch.completionMask);
      for (let b = s; b < e; b++) if (drop[b]) maskData.fill(0, (b - s) * L, (b - s + 1) * L);
      const chunk: Chunk = { batch, mask: tf.tensor2d(maskData, [e - s, L]), adv: tf.tensor1d(advantages.slice(s, e)), tokens: count(s, e), ref: null, old: null, slice, normalizer };
      out.push(chunk);
      chunk.ref = ctx.reference ? tf.tidy(() => tokenLogProbs(ctx.reference!, batch, cfg.temperature, { completionOnly: true }).logprobs) : null;
      // Ratios are against the policy that sampled, so its log-probs are taken before any update.
      chunk.old = needsOld(cfg) ? tf.tidy(() => tokenLogProbs(ctx.policy, batch, cfg.temperature, { completionOnly: true }).logprobs) : null;
    }
  }
}

function disposeChunks(chunks: Chunk[]): void {
  for (const c of chunks) {
    c.mask.dispose();
    c.adv.dispose();
    c.ref?.dispose();
    c.old?.dispose();
  }
}

/** Adds `grads` into `acc` (disposing both inputs' spent tensors) and returns the sum. */
export function accumulate(vars: ReadonlyMap<string, tf.Variable>, acc: Grads | null, grads: tf.NamedTensorMap): Grads {
  const next: Grads = {};
  for (const [name, v] of vars) {
    const g = grads[v.name]!;
    next[name] = acc ? tf.add(acc[name]!, g) : g;
    if (acc) {
      acc[name]!.dispose();
      g.dispose();
    }
  }
  return next;
}

/** One chunk's forward and backward: its loss share, its metric numerators and its gradients. */
async function chunkGradients(ctx: UpdateContext, c: Chunk, opt: LossOptions, cfg: GRPOConfig, metrics: LossMetrics): Promise<{ loss: number; grads: tf.NamedTensorMap }> {
  let out: ReturnType<typeof grpoLoss> | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const { logprobs, entropy } = tokenLogProbs(ctx.policy, c.batch, cfg.temperature, { completionOnly: true });
    out = grpoLoss({ logprobs, oldLogprobs: c.old, refLogprobs: c.ref, advantages: c.adv, mask: c.mask, entropy }, { ...opt, normalizer: c.normalizer });
    for (const m of Object.values(out.metrics)) tf.keep(m);
    return out.loss;
  }, [...ctx.vars.values()]);
  const loss = (await value.data())[0]!;
  value.dispose();
  const o = out as unknown as ReturnType<typeof grpoLoss>;
  const numerators = await readLossMetrics(o.metrics);
  for (const [k, v] of Object.entries(numerators)) metrics.add(c.slice, k as LossMetricName, v, o.denominators[k as LossMetricName] === 'rows' ? c.adv.shape[0] : c.tokens);
  return { loss, grads };
}

/** Moves the reference toward the policy (TRL's SyncRefModelCallback): ref ← α·policy + (1 − α)·ref. */
function syncReference(ctx: UpdateContext, alpha: number): void {
  const ref = ctx.reference!.weights;
  for (const [name, p] of ctx.vars) {
    const r = ref.get(name)!;
    r.assign(tf.tidy(() => tf.add(tf.mul(p, alpha), tf.mul(r, 1 - alpha))));
  }
}

/** One optimizer step over one accumulation window's chunks. */
async function windowStep(ctx: UpdateContext, chunks: Chunk[], opt: LossOptions, cfg: GRPOConfig, lr: number, metrics: LossMetrics): Promise<{ loss: number; gradNorm: number }> {
  let acc: Grads | null = null;
  let loss = 0;
  try {
    for (const c of chunks) {
      const r = await chunkGradients(ctx, c, opt, cfg, metrics);
      loss += r.loss;
      acc = accumulate(ctx.vars, acc, r.grads);
    }
    if (!Number.isFinite(loss)) throw new NonFiniteError('loss', `loss = ${loss}`);
    const { gradNorm } = await ctx.optimizer.step(acc!, lr);
    if (cfg.sync_ref_model && ctx.reference && ctx.optimizer.stepCount % cfg.ref_model_sync_steps === 0) syncReference(ctx, cfg.ref_model_mixup_alpha);
    return { loss, gradNorm };
  } finally {
    if (acc) for (const g of Object.values(acc)) g.dispose();
  }
}

export function lossOptions(cfg: GRPOConfig): LossOptions {
  return {
    lossType: cfg.loss_type,
    epsilon: cfg.epsilon,
    epsilonHigh: epsilonHigh(cfg),
    delta: cfg.delta,
    beta: cfg.beta,
    entropyCoef: cfg.entropy_coef,
    importanceSamplingLevel: cfg.importance_sampling_level,
    useBiasCorrectionKl: cfg.use_bias_correction_kl,
    topEntropyQuantile: cfg.top_entropy_quantile,
    sapoTemperaturePos: cfg.sapo_temperature_pos,
    sapoTemperatureNeg: cfg.sapo_temperature_neg,
    maxCompletionLength: cfg.max_completion_length,
  };
}

/** μ passes over one batch of scored groups; the loss and metrics are means over passes and slices. */
export async function update(ctx: UpdateContext, groups: Group[], advantages: number[], cfg: GRPOConfig, lr: number, hooks: UpdateHooks): Promise<Record<string, number>> {
  const chunks: Chunk[] = [];
  try {
    prepareChunks(ctx, groups, advantages, cfg, chunks);
    const opt = lossOptions(cfg);
    const windowOf = (c: Chunk) => Math.floor(c.slice / cfg.gradient_accumulation_steps);
    const windows = Math.max(...chunks.map(windowOf)) + 1;
    const metrics = new LossMetrics();
    let gradNorm = 0;
    let lossSum = 0;
    for (let it = 0; it < cfg.num_iterations; it++) {
      await hooks.onUpdate?.(it, cfg.num_iterations);
      for (let w = 0; w < windows; w++) {
        const inWindow = chunks.filter((c) => windowOf(c) === w);
        const r = await windowStep(ctx, inWindow, opt, cfg, lr, metrics);
        gradNorm = r.gradNorm;
        lossSum += r.loss;
      }
      metrics.endPass();
    }
    // policy_loss: the mean over optimizer steps of each step's loss, as TRL logs it.
    return { policy_loss: lossSum / (cfg.num_iterations * windows), grad_norm: gradNorm, ...metrics.result(cfg.beta !== 0) };
  } finally {
    disposeChunks(chunks);
  }
}
