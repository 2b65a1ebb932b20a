/**
 * The GRPO objective on per-token log-probs, as TRL's GRPOTrainer._compute_loss:
 *   ratio = exp(logp − old_logp)
 *   per-token loss = −min(ratio·A, clip(ratio, 1 − ε, 1 + ε_high)·A) + β·k3 − entropy_coef·H
 *   k3 = exp(ref − logp) − (ref − logp) − 1          (Schulman's unbiased, non-negative KL estimator)
 * then aggregated over completion tokens per loss_type. All tensors are [B, T] with the same
 * layout (the packed batch's); the completion mask picks the tokens that count.
 */
import * as tf from '@tensorflow/tfjs-core';
// Registers every kernel's gradient (tfjs-core alone has none); works under Node's resolver and bundlers alike.
import '@tensorflow/tfjs';
import type { LossType } from './config';

export interface LossInputs {
  /** log π_θ(token) for the current weights: differentiable. [B, T] */
  logprobs: tf.Tensor2D;
  /** log π_old(token), from before this batch's first update. null → stopGradient(logprobs) (μ = 1: ratio ≡ 1). */
  oldLogprobs: tf.Tensor2D | null;
  /** log π_ref(token) of the frozen reference; needed when beta > 0. */
  refLogprobs: tf.Tensor2D | null;
  /** One advantage per sequence. [B] */
  advantages: tf.Tensor1D;
  /** 1 for completion tokens that enter the loss, else 0. [B, T] */
  mask: tf.Tensor2D;
  /** Per-token entropy of the policy (for the bonus and the metric); null → not computed. [B, T] */
  entropy: tf.Tensor2D | null;
}

export interface LossOptions {
  lossType: LossType;
  epsilon: number;
  epsilonHigh: number;
  beta: number;
  entropyCoef: number;
  /** Only dr_grpo uses it: its denominator is B × max_completion_length. */
  maxCompletionLength: number;
  /**
   * Counts of the whole batch when this call sees one micro-batch of it: the loss is then this
   * micro-batch's share, and the shares sum to the whole batch's loss. Absent: this batch's own counts.
   */
  normalizer?: { sequences: number; tokens: number };
}

export type LossOutput = {
  /** Scalar loss to minimise. */
  loss: tf.Scalar;
  /** Scalar metric tensors, not on the gradient path's output; the caller reads and disposes them. */
  metrics: {
    /** Masked mean of k3 (0 when beta = 0, as TRL does not log it then). */
    kl: tf.Scalar;
    /** Masked mean entropy (0 when no entropy was given). */
    entropy: tf.Scalar;
    'clip_ratio/low_mean': tf.Scalar;
    'clip_ratio/high_mean': tf.Scalar;
    'clip_ratio/region_mean': tf.Scalar;
  };
};

/** Aggregate a [B, T] per-token quantity over the mask the way loss_type says. */
export function aggregate(
  perToken: tf.Tensor2D,
  mask: tf.Tensor2D,
  lossType: LossType,
  maxCompletionLength: number,
  normalizer?: { sequences: number; tokens: number },
): tf.Scalar {
  return tf.tidy(() => {
    const masked = tf.mul(perToken, mask);
    const sequences = normalizer?.sequences ?? perToken.shape[0];
    switch (lossType) {
      case 'grpo':
      case 'sapo': {
        // Each sequence weighs the same however long it is: the length bias Dr. GRPO criticises.
        const perSeq = tf.div(tf.sum(masked, 1), tf.maximum(tf.sum(mask, 1), 1));
        return tf.div(tf.sum(perSeq), sequences) as tf.Scalar;
      }
      case 'bnpo':
      case 'dapo':
      case 'cispo': {
        // Every token of the batch weighs the same. dapo's normaliser is the token count of the
        // whole generation batch; with one process and one accumulation step that is this batch.
        const tokens = normalizer ? tf.scalar(normalizer.tokens) : tf.maximum(tf.sum(mask), 1);
        return tf.div(tf.sum(masked), tokens) as tf.Scalar;
      }
      case 'dr_grpo':
        return tf.div(tf.sum(masked), sequences * maxCompletionLength) as tf.Scalar;
    }
  });
}

/** Identity whose gradient is zero (tfjs has no stop_gradient / detach). */
export const stopGradient = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
  const x = args[0] as tf.Tensor;
  return { value: tf.clone(x), gradFunc: () => tf.zerosLike(x) };
}) as (x: tf.Tensor) => tf.Tensor;

function maskedMean(x: tf.Tensor, mask: tf.Tensor2D): tf.Scalar {
  return tf.div(tf.sum(tf.mul(x, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

export function grpoLoss(inp: LossInputs, opt: LossOptions): LossOutput {
  if (opt.beta > 0 && inp.refLogprobs === null) {
    throw new Error('grpoLoss: beta > 0 needs reference log-probs');
  }
  return tf.tidy(() => {
    const { logprobs, mask } = inp;
    const old = inp.oldLogprobs ?? (stopGradient(logprobs) as tf.Tensor2D);
    const ratio = tf.exp(tf.sub(logprobs, old));
    const adv = tf.expandDims(inp.advantages, 1);
    const clipped = tf.clipByValue(ratio, 1 - opt.epsilon, 1 + opt.epsilonHigh);
    let perToken: tf.Tensor = tf.neg(tf.minimum(tf.mul(ratio, adv), tf.mul(clipped, adv)));

    let kl: tf.Scalar = tf.scalar(0);
    if (opt.beta > 0 && inp.refLogprobs !== null) {
      const d = tf.sub(inp.refLogprobs, logprobs);
      const perTokenKl = tf.sub(tf.sub(tf.exp(d), d), 1);
      perToken = tf.add(perToken, tf.mul(perTokenKl, opt.beta));
      kl = maskedMean(perTokenKl, mask);
    }

    let entropy: tf.Scalar = tf.scalar(0);
    if (inp.entropy !== null) {
      if (opt.entropyCoef > 0) perToken = tf.sub(perToken, tf.mul(inp.entropy, opt.entropyCoef));
      entropy = maskedMean(inp.entropy, mask);
    }

    const loss = aggregate(perToken as tf.Tensor2D, mask, opt.lossType, opt.maxCompletionLength, opt.normalizer);

    // TRL counts a token as clipped only where clipping changes the objective: the ratio left
    // the trust region in the direction the advantage pushes it.
    const ratioStopped = stopGradient(ratio);
    const advB = tf.mul(tf.onesLike(ratioStopped), adv);
    const low = tf.cast(tf.logicalAnd(tf.less(ratioStopped, 1 - opt.epsilon), tf.less(advB, 0)), 'float32');
    const high = tf.cast(tf.logicalAnd(tf.greater(ratioStopped, 1 + opt.epsilonHigh), tf.greater(advB, 0)), 'float32');
    const region = tf.cast(tf.logicalOr(tf.cast(low, 'bool'), tf.cast(high, 'bool')), 'float32');

    return {
      loss,
      metrics: {
        kl,
        entropy,
        'clip_ratio/low_mean': maskedMean(low, mask),
        'clip_ratio/high_mean': maskedMean(high, mask),
        'clip_ratio/region_mean': maskedMean(region, mask),
      },
    };
  });
}

/** Read (one readback for all) and dispose the metric scalars of a LossOutput. */
export async function readLossMetrics(m: LossOutput['metrics']): Promise<Record<keyof LossOutput['metrics'], number>> {
  const keys = Object.keys(m) as (keyof LossOutput['metrics'])[];
  const stacked = tf.stack(keys.map((k) => m[k]));
  for (const k of keys) m[k].dispose();
  const values = await stacked.data();
  stacked.dispose();
  const out = {} as Record<keyof LossOutput['metrics'], number>;
  keys.forEach((k, i) => (out[k] = values[i]!));
  return out;
}
