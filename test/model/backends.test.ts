/**
 * The same model on cpu, wasm and webgpu (Node: Dawn on Mesa llvmpipe, GLES compat): logits and
 * gradients of tokenLogProbs agree within 1e-4.
 */
import { describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { parseConfig } from '../../src/core/model/config';
import { CausalLM } from '../../src/core/model/causal-lm';
import { packBatch, tokenLogProbs } from '../../src/core/model/logprobs';
import { tinyConfig } from '../fixtures/tiny-configs';
import { randomWeights } from '../fixtures/random-weights';
import type { Architecture, ModelConfig } from '../../src/core/model/types';
import type { BackendName } from '../../src/worker/protocol';

const batch = packBatch([[1, 5, 9, 5], [1, 20]], [[3, 4, 4], [6, 7, 2, 2]], 0);

async function run(backend: BackendName, config: ModelConfig, weights: ReturnType<typeof randomWeights>) {
  const report = await initNodeBackend(backend);
  expect(report.name).toBe(backend);
  const before = tf.memory().numTensors;
  const model = new CausalLM(config, weights);
  const { logits } = model.forward({ ids: batch.ids, batch: batch.batch, length: batch.length, positions: batch.positions, attentionMask: batch.attentionMask });
  const logitData = Float32Array.from(await logits.data());
  logits.dispose();
  const cm = tf.tensor2d(batch.completionMask, [batch.batch, batch.length]);
  const { value, grads } = tf.variableGrads(() =>
    tf.tidy(() => {
      const { logprobs, entropy } = tokenLogProbs(model, batch);
      return tf.sum(tf.mul(tf.add(logprobs, tf.mul(entropy, 0.1)), cm)) as tf.Scalar;
    }),
  );
  const gradData = new Map<string, Float32Array>();
  // Gradients in HF layout whatever layout this backend's model holds its linear weights in.
  for (const spec of model.tensorSpecs()) {
    const g = grads[model.weights.get(spec.name)!.name]!;
    const hf = spec.linear && model.transposedLinear ? tf.transpose(g) : g;
    gradData.set(spec.name, Float32Array.from(await hf.data()));
    if (hf !== g) hf.dispose();
  }
  value.dispose();
  cm.dispose();
  Object.values(grads).forEach((g) => g.dispose());
  model.dispose();
  expect(tf.memory().numTensors).toBe(before);
  return { logitData, gradData, report };
}

function maxDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe.each<Architecture>(['llama', 'qwen3', 'gpt2'])('%s on cpu, wasm, webgpu', (arch) => {
  it('gives the same logits and gradients (tied embedding gather included)', async () => {
    const config = parseConfig(tinyConfig(arch));
    const weights = randomWeights(config, 3);
    const cpu = await run('cpu', config, weights);
    for (const b of ['wasm', 'webgpu'] as const) {
      const other = await run(b, config, weights);
      expect(maxDiff(cpu.logitData, other.logitData), `${b} logits`).toBeLessThan(1e-4);
      for (const [name, g] of cpu.gradData) {
        expect(maxDiff(g, other.gradData.get(name)!), `${b} grad ${name}`).toBeLessThan(1e-4);
      }
    }
    await tf.setBackend('cpu');
  });
});
