/**
 * The GRPO objective on per-token log-probs, as TRL's GRPOTrainer._compute_loss:
 *   w = exp(logp − old_logp) per token, or one per sequence (GSPO: the mean log-ratio of its tokens)
 *   grpo family: −min(w·A, clip(w, 1 − ε, 1 + ε_high)·A), with w capped at delta when set
 *   cispo:       −stopgrad(min(w, ε_high))·A·logp
 *   sapo:        −σ(τ(w − 1))·(4/τ)·A, τ = sapo_temperature_pos or _neg by the sign of A
 * times the high-entropy token mask (top_entropy_quantile), plus β·k3 KL to the reference
 * (k3 = exp(ref − logp) − (ref − logp) − 1, times w with use_bias_correction_kl), aggregated over
 * completion tokens per loss_type; then minus entropy_coef × the masked mean entropy. All tensors
 * are [B, T] in the packed batch's layout; the completion mask picks the tokens that count.
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers every kernel's gradient (tfjs-core alone has none); works under Node's resolver and bundlers alike.
import '@tensorflow/tfjs';
import type { ImportanceSamplingLevel, LossType } from './config';

export interface LossInputs {
  /** log π_θ(token) for the current weights: differentiable. [B, T] */
  logprobs: tf.Tensor2D;
  /** log π_old(token), from before this batch's first update. null → stopGradient(logprobs) (ratio ≡ 1). */
  oldLogprobs: tf.Tensor2D | null;
  /** log π_ref(token) of the frozen reference; needed when beta > 0. */
  refLogprobs: tf.Tensor2D | null;
  /** One advantage per sequence. [B] */
  advantages: tf.Tensor1D;
  /** 1 for completion tokens that enter the loss, else 0. [B, T] */
  mask: tf.Tensor2D;
  /** Per-token entropy of the policy (for the bonus, the metric and the entropy mask); null → not computed. [B, T] */
  entropy: tf.Tensor2D | null;
}

/**
 * The counts a micro-batch's loss is divided by, so that the micro-batches' shares sum to the
 * loss of the slice they belong to (one TRL micro-batch) divided by the accumulation steps.
 */
export interface LossNormalizer {
  /** Rows of the slice. */
  sequences: number;
  /** Completion tokens of the slice (bnpo, and the entropy bonus). */
  tokens: number;
  /** Completion tokens of the whole accumulation window (dapo, cispo: TRL's num_items_in_batch). */
  windowTokens: number;
  /** gradient_accumulation_steps: grpo, sapo, bnpo and dr_grpo divide by it. */
  accumulation: number;
}

export interface LossOptions {
  lossType: LossType;
  epsilon: number;
  epsilonHigh: number;
  /** Two-sided clipping: cap on the ratio (grpo family); null = off. */
  delta: number | null;
  beta: number;
  entropyCoef: number;
  importanceSamplingLevel: ImportanceSamplingLevel;
  useBiasCorrectionKl: boolean;
  /** 1 = every token; q < 1 = only tokens at or above the (1 − q) quantile of the batch's entropies. */
  topEntropyQuantile: number;
  sapoTemperaturePos: number;
  sapoTemperatureNeg: number;
  /** Only dr_grpo uses it: its denominator is B × max_completion_length. */
  maxCompletionLength: number;
  /** Absent: this batch is the whole slice, with no accumulation. */
  normalizer?: LossNormalizer;
}

export type LossMetricName = 'kl' | 'entropy' | 'clip_ratio/low_mean' | 'clip_ratio/high_mean' | 'clip_ratio/region_mean' | 'cispo_clip_ratio';

export type LossOutput = {
  /** Scalar loss to minimise. */
  loss: tf.Scalar;
  /**
   * Numerators of the metrics (sums over this micro-batch's counted tokens, or over its rows for
   * sequence-level ratios); divide by `denominators` to get TRL's masked batch means.
   */
  metrics: Partial<Record<LossMetricName, tf.Scalar>>;
  /** Per metric: 'tokens' (the mask's count) or 'rows'. */
  denominators: Partial<Record<LossMetricName, 'tokens' | 'rows'>>;
};

function ownNormalizer(mask: tf.Tensor2D): LossNormalizer {
  const tokens = Math.max(1, tf.tidy(() => tf.sum(mask).arraySync() as number));
  return { sequences: mask.shape[0], tokens, windowTokens: tokens, accumulation: 1 };
}

/** Aggregate a [B, T] (or [B, 1]) per-token quantity over the mask the way loss_type says. */
export function aggregate(perToken: tf.Tensor, mask: tf.Tensor2D, lossType: LossType, maxCompletionLength: number, normalizer?: LossNormalizer): tf.Scalar {
  return tf.tidy(() => {
    const n = normalizer ?? ownNormalizer(mask);
    const masked = tf.mul(perToken, mask);
    switch (lossType) {
      case 'grpo':
      case 'sapo': {
        // Each sequence weighs the same however long it is: the length bias Dr. GRPO criticises.
        const perSeq = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1));
        return tf.div(tf.sum(perSeq), n.sequences * n.accumulation) as tf.Scalar;
      }
      case 'bnpo':
        return tf.div(tf.sum(masked), n.tokens * n.accumulation) as tf.Scalar;
      case 'dr_grpo':
        return tf.div(tf.sum(masked), n.sequences * maxCompletionLength * n.accumulation) as tf.Scalar;
      case 'dapo':
      case 'cispo':
        // Every token of the accumulation window weighs the same.
        return tf.div(tf.sum(masked), n.windowTokens) as tf.Scalar;
    }
  });
}

/** Identity whose gradient is zero (tfjs has no stop_gradient / detach). */
export const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: () => tf.zerosLike(x) };
}) as (x: tf.Tensor) => tf.Tensor;

/**
 * 1 where a counted token's entropy is at or above the `quantile` of the counted tokens' entropies
 * (torch.quantile's linear interpolation), else 0. No gradient flows through it.
 */
export const highEntropyMask = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const [entropy, mask, quantile] = args as tf.Tensor[];
  const q = quantile!.dataSync()[0]!;
  const flatMask = mask!.reshape([-1]);
  const n = Math.round(tf.sum(flatMask).dataSync()[0]!);
  let value: tf.Tensor;
  if (n === 0) value = tf.zerosLike(mask!);
  else {
    // Uncounted tokens sink to the end of the descending sort.
    const sorted = tf.topk(tf.where(tf.cast(flatMask, 'bool'), entropy!.reshape([-1]), tf.fill(flatMask.shape, -Infinity)), flatMask.size).values;
    const desc = sorted.dataSync();
    const pos = q * (n - 1);
    const lo = desc[n - 1 - Math.floor(pos)]!;
    const hi = desc[n - 1 - Math.ceil(pos)]!;
    const threshold = lo + (pos - Math.floor(pos)) * (hi - lo);
    value = tf.mul(tf.cast(tf.greaterEqual(entropy!, threshold), 'float32'), mask!);
  }
  return { value, gradFunc: () => [tf.zerosLike(entropy!), tf.zerosLike(mask!), tf.zerosLike(quantile!)] };
}) as (entropy: tf.Tensor, mask: tf.Tensor, quantile: tf.Tensor) => tf.Tensor2D;

/** log w: per token [B, T], or per sequence [B, 1] (the masked mean of the token log-ratios). */
function logImportanceWeights(logprobs: tf.Tensor2D, old: tf.Tensor2D, mask: tf.Tensor2D, level: ImportanceSamplingLevel): tf.Tensor2D {
  const logRatio = tf.sub(logprobs, old);
  if (level === 'token') return logRatio as tf.Tensor2D;
  return tf.expandDims(tf.div(tf.sum(tf.mul(logRatio, mask), 1), tf.maximum(tf.sum(mask, 1), 1)), 1) as tf.Tensor2D;
}

const sapoGate = (w: tf.Tensor, tau: number): tf.Tensor => tf.mul(tf.sigmoid(tf.mul(tf.sub(w, 1), tau)), 4 / tau);

/** The policy term per token (before the entropy mask and the KL), and the clip indicators for the metrics. */
function policyTerm(inp: LossInputs, w: tf.Tensor, adv: tf.Tensor, opt: LossOptions): { perToken: tf.Tensor; clip: Partial<Record<LossMetricName, tf.Tensor>> } {
  if (opt.lossType === 'cispo') {
    const capped = stopGradient(tf.minimum(w, opt.epsilonHigh));
    const ws = stopGradient(w);
    const clipped = tf.logicalAnd(tf.greater(ws, opt.epsilonHigh), tf.greater(tf.mul(tf.onesLike(ws), adv), 0));
    return { perToken: tf.neg(tf.mul(tf.mul(capped, adv), inp.logprobs)), clip: { cispo_clip_ratio: tf.cast(clipped, 'float32') } };
  }
  if (opt.lossType === 'sapo') {
    // Which temperature applies depends on the advantage alone (a constant, so no comparison is differentiated).
    const positive = tf.cast(tf.greater(adv, 0), 'float32');
    const gate = tf.add(tf.mul(positive, sapoGate(w, opt.sapoTemperaturePos)), tf.mul(tf.sub(1, positive), sapoGate(w, opt.sapoTemperatureNeg)));
    return { perToken: tf.neg(tf.mul(gate, adv)), clip: {} };
  }
  const clippedW = tf.clipByValue(w, 1 - opt.epsilon, 1 + opt.epsilonHigh);
  const capped = opt.delta !== null ? tf.minimum(w, opt.delta) : w;
  const perToken = tf.neg(tf.minimum(tf.mul(capped, adv), tf.mul(clippedW, adv)));
  // TRL counts a token as clipped only where clipping changes the objective: the ratio left
  // the trust region in the direction the advantage pushes it.
  const ws = stopGradient(capped);
  const advB = tf.mul(tf.onesLike(ws), adv);
  const low = tf.logicalAnd(tf.less(ws, 1 - opt.epsilon), tf.less(advB, 0));
  const high = tf.logicalAnd(tf.greater(ws, 1 + opt.epsilonHigh), tf.greater(advB, 0));
  return {
    perToken,
    clip: { 'clip_ratio/low_mean': tf.cast(low, 'float32'), 'clip_ratio/high_mean': tf.cast(high, 'float32'), 'clip_ratio/region_mean': tf.cast(tf.logicalOr(low, high), 'float32') },
  };
}

export function grpoLoss(inp: LossInputs, opt: LossOptions): LossOutput {
  if (opt.beta > 0 && inp.refLogprobs === null) throw new Error('grpoLoss: beta > 0 needs reference log-probs');
  if (opt.topEntropyQuantile < 1 && inp.entropy === null) throw new Error('grpoLoss: top_entropy_quantile < 1 needs the entropies');
  return tf.tidy(() => {
    const { logprobs, mask } = inp;
    const old = inp.oldLogprobs ?? (stopGradient(logprobs) as tf.Tensor2D);
    const w = tf.exp(logImportanceWeights(logprobs, old, mask, opt.importanceSamplingLevel));
    const adv = tf.expandDims(inp.advantages, 1);
    const { perToken: policy, clip } = policyTerm(inp, w, adv, opt);
    let perToken: tf.Tensor = policy;
    if (opt.topEntropyQuantile < 1) perToken = tf.mul(perToken, highEntropyMask(inp.entropy!, mask, tf.scalar(1 - opt.topEntropyQuantile)));
    const metrics: LossOutput['metrics'] = {};
    const denominators: LossOutput['denominators'] = {};
    const rowsOrTokens = opt.importanceSamplingLevel === 'sequence' ? 'rows' : 'tokens';
    const sum = (name: LossMetricName, x: tf.Tensor, per: 'tokens' | 'rows') => {
      metrics[name] = (per === 'rows' ? tf.sum(x) : tf.sum(tf.mul(x, mask))) as tf.Scalar;
      denominators[name] = per;
    };
    for (const [name, x] of Object.entries(clip)) sum(name as LossMetricName, x, rowsOrTokens);
    if (opt.beta > 0 && inp.refLogprobs !== null) {
      const d = tf.sub(inp.refLogprobs, logprobs);
      let kl = tf.sub(tf.sub(tf.exp(d), d), 1);
      if (opt.useBiasCorrectionKl) kl = tf.mul(kl, w);
      perToken = tf.add(tf.mul(perToken, tf.onesLike(kl)), tf.mul(kl, opt.beta));
      sum('kl', stopGradient(kl), 'tokens');
    }
    let loss = aggregate(perToken, mask, opt.lossType, opt.maxCompletionLength, opt.normalizer);
    if (inp.entropy !== null) {
      sum('entropy', stopGradient(inp.entropy), 'tokens');
      if (opt.entropyCoef > 0) {
        // TRL's form: the masked mean entropy of the slice, whatever the loss type.
        const n = opt.normalizer ?? ownNormalizer(mask);
        loss = tf.sub(loss, tf.mul(tf.div(tf.sum(tf.mul(inp.entropy, mask)), n.tokens * n.accumulation), opt.entropyCoef));
      }
    }
    return { loss, metrics, denominators };
  });
}

/** Read (one readback for all) and dispose the metric numerators of a LossOutput. */
export async function readLossMetrics(m: LossOutput['metrics']): Promise<Partial<Record<LossMetricName, number>>> {
  const keys = Object.keys(m) as LossMetricName[];
  if (keys.length === 0) return {};
  const stacked = tf.stack(keys.map((k) => m[k]!));
  for (const k of keys) m[k]!.dispose();
  const values = await stacked.data();
  stacked.dispose();
  const out: Partial<Record<LossMetricName, number>> = {};
  keys.forEach((k, i) => (out[k] = values[i]!));
  return out;
}
