/**
 * One supervised step of next-token prediction on completion tokens (the prompt is context, not
 * target), with global-norm clipping. Shares the engine's teacher-forced log-probs with GRPO.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../model/causal-lm';
import { packBatch, tokenLogProbs } from '../model/logprobs';

export interface LmStepResult {
  loss: number;
  gradNorm: number;
  tokens: number;
}

/** Mean negative log-likelihood of the completion tokens: a scalar the caller disposes. */
export function completionNll(model: CausalLM, prompts: number[][], completions: number[][], padId: number): tf.Scalar {
  const batch = packBatch(prompts, completions, padId);
  return tf.tidy(() => {
    const { logprobs, entropy } = tokenLogProbs(model, batch);
    entropy.dispose();
    const mask = tf.tensor2d(batch.completionMask, [batch.batch, batch.length]);
    return tf.div(tf.neg(tf.sum(tf.mul(logprobs, mask))), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
  });
}

export async function lmStep(
  model: CausalLM,
  optimizer: tf.Optimizer,
  prompts: number[][],
  completions: number[][],
  padId: number,
  maxGradNorm: number,
): Promise<LmStepResult> {
  const vars = model.trainableVariables();
  const { value, grads } = tf.variableGrads(() => completionNll(model, prompts, completions, padId), vars);
  const names = Object.keys(grads);
  // A running sum rather than tf.addN, which is wrong on tfjs-webgpu with many inputs.
  const normT = tf.tidy(() => tf.sqrt(names.reduce((acc: tf.Tensor, n) => tf.add(acc, tf.sum(tf.square(grads[n]!))), tf.scalar(0))));
  const [loss, gradNorm] = [(await value.data())[0]!, (await normT.data())[0]!];
  value.dispose();
  normT.dispose();
  if (!Number.isFinite(loss) || !Number.isFinite(gradNorm)) {
    tf.dispose(grads);
    throw new Error(`Pretraining step produced a non-finite loss (${loss}) or gradient norm (${gradNorm}); weights left unchanged.`);
  }
  const scale = gradNorm > maxGradNorm ? maxGradNorm / gradNorm : 1;
  const scaled: tf.NamedTensorMap = {};
  for (const n of names) scaled[n] = scale === 1 ? grads[n]! : tf.mul(grads[n]!, scale);
  optimizer.applyGradients(scaled);
  tf.dispose(grads);
  if (scale !== 1) tf.dispose(Object.values(scaled));
  const tokens = completions.reduce((a, c) => a + c.length, 0);
  return { loss, gradNorm, tokens };
}
