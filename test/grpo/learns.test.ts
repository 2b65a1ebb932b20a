import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { describe, expect, it } from 'vitest';
import { GRPOTrainer, type StepResult } from '../../src/core/grpo/trainer';
import { fromRewardFn } from '../../src/core/rewards/runner';
import { rolloutViews } from '../../src/worker/rollout-views';
import type { StepResult as _SR } from '../../src/core/grpo/trainer';
import { charTokenizer, renderWord, tinyModel, warmUp, wordSource } from './helpers';

// Reward 1 when the completion starts with one of four letters: a random model does this
// rarely, and GRPO has to find and reinforce it from the group-relative signal alone.
const TARGET = 'qxzj';
const reward = fromRewardFn({ name: 'first_letter', fn: (c) => (TARGET.includes(c[0] ?? '') ? 1 : 0) });

const CONFIG = { num_generations: 8, prompts_per_step: 4, max_completion_length: 2, learning_rate: 3e-2, seed: 1, temperature: 1 };

function makeTrainer() {
  const policy = tinyModel(11);
  const trainer = new GRPOTrainer({ policy, tokenizer: charTokenizer, problems: wordSource, renderPrompt: renderWord, rewards: [reward], config: CONFIG });
  return {
    trainer,
    policy,
    dispose: () => {
      trainer.dispose();
      policy.dispose();
    },
  };
}

const views = (r: _SR) => rolloutViews(r, charTokenizer);

describe('GRPO learns', () => {
  it('raises mean reward from < 0.3 to > 0.8 within 40 steps on cpu', async () => {
    await tf.setBackend('cpu');
    const { trainer, dispose } = makeTrainer();
    const rewards: number[] = [];
    for (let i = 0; i < 40; i++) {
      rewards.push((await trainer.trainStep()).metrics.reward!);
      const recent = rewards.slice(-3);
      if (recent.length === 3 && recent.every((r) => r > 0.8)) break;
    }
    dispose();
    console.log('reward per step:', rewards.map((r) => r.toFixed(2)).join(' '));
    expect(rewards[0]).toBeLessThan(0.3);
    expect(rewards.slice(-3).every((r) => r > 0.8)).toBe(true);
  });
});

describe('the first GRPO step on every backend', () => {
  it('gives the same rollouts and metrics on wasm and webgpu (Node Dawn) as on cpu', async () => {
    const { initNodeBackend } = await import('../../src/cli/node-webgpu');
    const first = async (backend: 'cpu' | 'wasm' | 'webgpu'): Promise<StepResult> => {
      const report = await initNodeBackend(backend);
      expect(report.name, report.fallbackReason ?? '').toBe(backend);
      const { trainer, policy, dispose } = makeTrainer();
      await warmUp(policy);
      const before = tf.memory().numTensors;
      const r = await trainer.trainStep();
      expect(tf.memory().numTensors).toBe(before);
      dispose();
      return r;
    };
    const cpu = await first('cpu');
    for (const b of ['wasm', 'webgpu'] as const) {
      const other = await first(b);
      expect(views(other).map((g) => g.completions.map((c) => c.text)), b).toEqual(views(cpu).map((g) => g.completions.map((c) => c.text)));
      for (const k of ['reward', 'reward_std', 'policy_loss', 'grad_norm', 'entropy']) {
        expect(Math.abs(other.metrics[k]! - cpu.metrics[k]!), `${b} ${k}: ${other.metrics[k]} vs ${cpu.metrics[k]}`).toBeLessThan(1e-4 * Math.max(1, Math.abs(cpu.metrics[k]!)));
      }
    }
  });
});
