/**
 * A 300-step soak of GRPO on the shipped model (wasm, a small batch so it takes a couple of
 * minutes): from step 1 on, tf.memory()'s tensor count and bytes stay exactly where they were after
 * step 1, and disposing the trainer and the model brings the count back to what it was before loading.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { loadModel } from '../../src/core/model/load';
import { GRPOTrainer } from '../../src/core/grpo/trainer';
import { builtinReward, isCorrect } from '../../src/core/rewards/builtin';
import { fromRewardFn } from '../../src/core/rewards/runner';
import { createTask } from '../../src/core/tasks/index';
import { ANSWER_CLOSE, renderPrompt } from '../../src/core/tasks/prompt';

const STEPS = 300;

describe('soak: 300 GRPO steps on the shipped model', () => {
  it('keeps tensor count and bytes constant from step 1 and frees everything on dispose', async () => {
    const backend = await initNodeBackend('wasm');
    expect(backend.name).toBe('wasm');
    const before = tf.memory().numTensors;
    const { model, tokenizer } = await loadModel({ kind: 'dir', path: resolve('public/models/tabzero-tiny') }, { trainable: true });
    const trainer = new GRPOTrainer({
      policy: model,
      tokenizer: { encode: (t) => tokenizer.encode(t, { addSpecialTokens: true }), decode: (ids) => tokenizer.decode(ids, { skipSpecialTokens: false }) },
      problems: createTask({ kind: 'toy-world', difficulty: 1 }),
      renderPrompt: (p, o) => renderPrompt(p, o),
      rewards: [fromRewardFn({ name: 'correctness', fn: builtinReward('correctness') }), fromRewardFn({ name: 'format', fn: builtinReward('format') })],
      // beta > 0 keeps a reference model too, so its tensors are soaked as well.
      config: { num_generations: 2, prompts_per_step: 1, max_completion_length: 24, learning_rate: 1e-4, beta: 0.01, max_steps: STEPS },
      eosTokenIds: tokenizer.eosTokenIds,
      padTokenId: tokenizer.padTokenId,
      stopStrings: [ANSWER_CLOSE],
      solved: (c, p) => isCorrect(c, p),
    });
    await trainer.trainStep();
    const after1 = { tensors: tf.memory().numTensors, bytes: tf.memory().numBytes };
    const drift: string[] = [];
    for (let s = 2; s <= STEPS; s++) {
      const r = await trainer.trainStep();
      expect(Number.isFinite(r.metrics.policy_loss ?? 0)).toBe(true);
      const m = tf.memory();
      if (m.numTensors !== after1.tensors || m.numBytes !== after1.bytes) drift.push(`step ${s}: ${m.numTensors} tensors, ${m.numBytes} bytes`);
    }
    expect(trainer.step).toBe(STEPS);
    expect(drift).toEqual([]);
    trainer.dispose();
    model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  }, 900_000);
});
