/**
 * The update of bench/rl-shape.ts without Node imports, so a browser bench (bench/browser/) times
 * the same work: synthetic rows and one update (log-probs, the dapo loss, backward, AdamW) over
 * micro-batches.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { CausalLM } from '../src/core/model/causal-lm';
import { packBatch, tokenLogProbs } from '../src/core/model/logprobs';
import { grpoLoss } from '../src/core/grpo/loss';
import { accumulate, lossOptions } from '../src/core/grpo/update';
import { validateConfig } from '../src/core/grpo/config';
import { AdamW } from '../src/core/grpo/optimizer';
import { Rng } from '../src/core/rng';
import type { ModelConfig } from '../src/core/model/types';

export interface Shape {
  prompts: number;
  generations: number;
  promptLen: number;
  newTokens: number;
  microBatch: number;
}

/** Deterministic prompt rows (ids ≥ 3, no pads) and completions, the same in torch_ref.py. */
export function syntheticRows(config: ModelConfig, s: Shape): { prompts: number[][]; completions: number[][]; advantages: number[] } {
  const V = config.vocabSize;
  const rows = s.prompts * s.generations;
  const prompts = Array.from({ length: rows }, (_, i) => {
    const p = Math.floor(i / s.generations);
    return Array.from({ length: s.promptLen }, (_, j) => 3 + ((p * 131 + j * 17) % (V - 3)));
  });
  const completions = Array.from({ length: rows }, (_, i) => Array.from({ length: s.newTokens }, (_, j) => 3 + ((i * 7919 + j * 31) % (V - 3))));
  const rng = new Rng(5);
  const advantages = Array.from({ length: rows }, () => rng.next() * 2 - 1);
  return { prompts, completions, advantages };
}

export interface UpdateRunner {
  run(): Promise<number>;
}

/** One update over all rows in micro-batches; returns the summed loss. */
export function updateRunner(model: CausalLM, s: Shape, data: ReturnType<typeof syntheticRows>): UpdateRunner {
  const vars = new Map(model.weights);
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0, maxGradNorm: 1 });
  const rows = data.prompts.length;
  const run = async () => {
    let acc: Record<string, tf.Tensor> | null = null;
    let total = 0;
    const tokens = rows * s.newTokens;
    for (let st = 0; st < rows; st += s.microBatch) {
      const e = Math.min(rows, st + s.microBatch);
      const batch = packBatch(data.prompts.slice(st, e), data.completions.slice(st, e), 0);
      const mask = tf.tensor2d(batch.completionMask, [e - st, batch.length]);
      const adv = tf.tensor1d(data.advantages.slice(st, e));
      const { value, grads } = tf.variableGrads(() => {
        const { logprobs, entropy } = tokenLogProbs(model, batch, 1, { completionOnly: true });
        const out = grpoLoss(
          { logprobs, oldLogprobs: null, refLogprobs: null, advantages: adv, mask, entropy },
          { ...lossOptions(validateConfig({ loss_type: 'dapo', beta: 0, max_completion_length: s.newTokens })), normalizer: { sequences: rows, tokens, windowTokens: tokens, accumulation: 1 } },
        );
        Object.values(out.metrics).forEach((m) => m.dispose());
        return out.loss;
      }, [...vars.values()]);
      total += (await value.data())[0]!;
      value.dispose();
      mask.dispose();
      adv.dispose();
      acc = accumulate(vars, acc, grads);
    }
    await opt.step(acc!, 1e-6);
    for (const g of Object.values(acc!)) g.dispose();
    return total;
  };
  // AdamW's moments stay allocated: a bench process ends after its figures.
  return { run };
}

