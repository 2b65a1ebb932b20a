/**
 * The update half of a step: pack the batch into micro-batches ("chunks") once, then for each of
 * the μ passes run every chunk's forward and backward, sum the gradients and take one AdamW step.
 * Returns the loss metrics averaged over passes.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm';
import { packBatch, tokenLogProbs } from '../model/logprobs';
import type { PackedBatch } from '../model/types';
import type { Group } from './batch';
import { epsilonHigh, type GRPOConfig } from './config';
import { grpoLoss, readLossMetrics, type LossOptions } from './loss';
import { NonFiniteError, type AdamW } from './optimizer';

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

/**
 * Micro-batches bound the activation memory (logits are rows × length × vocab); each is packed on
 * its own, so a short micro-batch also carries less padding. Pushes into `out` as it goes, so
 * that the caller can dispose what was made if a later chunk fails.
 */
function prepareChunks(ctx: UpdateContext, groups: Group[], advantages: number[], cfg: GRPOConfig, out: Chunk[]): void {
  const { prompts, completions, drop } = rows(groups, cfg, ctx.pad);
  const n = prompts.length;
  const size = cfg.micro_batch_size > 0 ? cfg.micro_batch_size : n;
  for (let s = 0; s < n; s += size) {
    const e = Math.min(n, s + size);
    const batch = packBatch(prompts.slice(s, e), completions.slice(s, e), ctx.pad);
    const L = batch.length;
    const maskData = Float32Array.from(batch.completionMask);
    for (let b = s; b < e; b++) if (drop[b]) maskData.fill(0, (b - s) * L, (b - s + 1) * L);
    let tokens = 0;
    for (const m of maskData) tokens += m;
    const chunk: Chunk = { batch, mask: tf.tensor2d(maskData, [e - s, L]), adv: tf.tensor1d(advantages.slice(s, e)), tokens, ref: null, old: null };
    out.push(chunk);
    chunk.ref = ctx.reference ? tf.tidy(() => tokenLogProbs(ctx.reference!, batch, cfg.temperature).logprobs) : null;
    // μ > 1: ratios are against the policy that sampled, so its log-probs are taken once, before any update.
    chunk.old = cfg.num_iterations > 1 ? tf.tidy(() => tokenLogProbs(ctx.policy, batch, cfg.temperature).logprobs) : null;
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
function accumulate(vars: ReadonlyMap<string, tf.Variable>, acc: Grads | null, grads: tf.NamedTensorMap): Grads {
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

/** One chunk's forward and backward: its loss share, its metrics and its gradients. */
async function chunkGradients(ctx: UpdateContext, c: Chunk, opt: LossOptions, T: number): Promise<{ loss: number; metrics: Record<string, number>; grads: tf.NamedTensorMap }> {
  let metricTensors: ReturnType<typeof grpoLoss>['metrics'] | null = null;
  const { value, grads } = tf.variableGrads(() => {
    const { logprobs, entropy } = tokenLogProbs(ctx.policy, c.batch, T);
    const out = grpoLoss({ logprobs, oldLogprobs: c.old, refLogprobs: c.ref, advantages: c.adv, mask: c.mask, entropy }, opt);
    metricTensors = out.metrics;
    for (const m of Object.values(out.metrics)) tf.keep(m);
    return out.loss;
  }, [...ctx.vars.values()]);
  const loss = (await value.data())[0]!;
  value.dispose();
  return { loss, metrics: await readLossMetrics(metricTensors!), grads };
}

/** One μ pass: every chunk, then one optimizer step on the summed gradients. */
async function pass(ctx: UpdateContext, chunks: Chunk[], opt: LossOptions, cfg: GRPOConfig, lr: number, sums: Record<string, number>): Promise<{ loss: number; gradNorm: number }> {
  let acc: Grads | null = null;
  let loss = 0;
  const totalTokens = opt.normalizer!.tokens;
  try {
    for (const c of chunks) {
      const r = await chunkGradients(ctx, c, opt, cfg.temperature);
      loss += r.loss;
      // Metrics are masked means per micro-batch: weight them by its token count.
      for (const [k, v] of Object.entries(r.metrics)) sums[k] = (sums[k] ?? 0) + (v * c.tokens) / totalTokens;
      acc = accumulate(ctx.vars, acc, r.grads);
    }
    if (!Number.isFinite(loss)) throw new NonFiniteError('loss', `loss = ${loss}`);
    return { loss, gradNorm: (await ctx.optimizer.step(acc!, lr)).gradNorm };
  } finally {
    if (acc) for (const g of Object.values(acc)) g.dispose();
  }
}

function lossOptions(cfg: GRPOConfig, normalizer: { sequences: number; tokens: number }): LossOptions {
  return {
    lossType: cfg.loss_type,
    epsilon: cfg.epsilon,
    epsilonHigh: epsilonHigh(cfg),
    beta: cfg.beta,
    entropyCoef: cfg.entropy_coef,
    maxCompletionLength: cfg.max_completion_length,
    normalizer,
  };
}

/** μ passes of clipped-surrogate updates on one batch of scored groups. */
export async function update(ctx: UpdateContext, groups: Group[], advantages: number[], cfg: GRPOConfig, lr: number, hooks: UpdateHooks): Promise<Record<string, number>> {
  const chunks: Chunk[] = [];
  try {
    prepareChunks(ctx, groups, advantages, cfg, chunks);
    const totalTokens = chunks.reduce((a, c) => a + c.tokens, 0);
    // Every micro-batch divides by the whole batch's counts, so the summed gradient is the whole batch's.
    const opt = lossOptions(cfg, { sequences: advantages.length, tokens: Math.max(1, totalTokens) });
    const sums: Record<string, number> = {};
    let gradNorm = 0;
    let lossSum = 0;
    for (let it = 0; it < cfg.num_iterations; it++) {
      await hooks.onUpdate?.(it, cfg.num_iterations);
      const r = await pass(ctx, chunks, opt, cfg, lr, sums);
      gradNorm = r.gradNorm;
      lossSum += r.loss;
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
    disposeChunks(chunks);
  }
}
