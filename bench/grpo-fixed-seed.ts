/**
 * Fixed-seed GRPO runs whose every metric (full precision) and every rollout view are printed as
 * JSON lines, to prove that a restructuring of the step changes no result:
 *
 *   npx tsx bench/grpo-fixed-seed.ts > /tmp/after.jsonl && cmp bench/grpo-fixed-seed.jsonl /tmp/after.jsonl
 *
 * bench/grpo-fixed-seed.jsonl is the current output; bench/grpo-fixed-seed.before.jsonl was recorded
 * before issue 10 restructured the step (the restructured step reproduced it byte for byte; the
 * TRL-parity changes that followed changed reward_std's definition, the unscored rows of the tiny
 * runs' `len` reward, and the entropy bonus, on purpose).
 *
 * Runs: the tiny character-level model of test/grpo/helpers.ts under three configs that between
 * them take every branch of the step (KL, μ = 2, micro-batches, entropy bonus, scaffolding,
 * dynamic sampling, truncation masking), and the shipped model through the TrainingSession (what
 * the page runs) with a short config. Timing and memory figures are left out: they are not results.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { resolve } from 'node:path';
import { GRPOTrainer } from '../src/core/grpo/trainer';
import { fromRewardFn } from '../src/core/rewards/runner';
import { TrainingSession } from '../src/worker/session';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { modelSource } from '../src/cli/commands/generate';
import type { WorkerEvent } from '../src/worker/protocol';
import { rolloutViews } from '../src/worker/rollout-views';
import type { StepResult } from '../src/core/grpo/trainer';
import { charTokenizer, renderWord, tinyModel, wordSource } from '../test/grpo/helpers';

const NOT_RESULTS = new Set(['rollout_time_s', 'tokens_per_s', 'update_time_s', 'num_tensors', 'bytes']);
const STEPS = 10;
const views = (r: StepResult) => rolloutViews(r, charTokenizer);

function results(metrics: Record<string, number>): Record<string, number> {
  return Object.fromEntries(Object.entries(metrics).filter(([k]) => !NOT_RESULTS.has(k)).sort(([a], [b]) => a.localeCompare(b)));
}

const vowel = fromRewardFn({ name: 'vowel', fn: (c) => ('aeiou'.includes(c[0] ?? '') ? 1 : 0) });
const len = fromRewardFn({ name: 'len', fn: (c) => (c.length > 0 ? c.length / 10 : null) });

const TINY_RUNS: Record<string, Record<string, unknown>> = {
  plain: { num_generations: 4, prompts_per_step: 2, max_completion_length: 4, learning_rate: 1e-2, seed: 3 },
  kl_mu2_micro: { num_generations: 4, prompts_per_step: 3, max_completion_length: 5, learning_rate: 1e-2, seed: 4, beta: 0.04, num_iterations: 2, micro_batch_size: 5, entropy_coef: 0.01, loss_type: 'grpo', epsilon_high: 0.28 },
  scaffold_dynamic: { num_generations: 3, prompts_per_step: 3, max_completion_length: 3, learning_rate: 2e-2, seed: 5, scaffold_hard_problems: true, drop_zero_std_groups: true, mask_truncated_completions: true, loss_type: 'dr_grpo', scale_rewards: 'batch', reward_weights: [1, 0.5] },
};

async function tiny(name: string, config: Record<string, unknown>): Promise<void> {
  await tf.setBackend('cpu');
  const policy = tinyModel(7);
  const trainer = new GRPOTrainer({ policy, tokenizer: charTokenizer, problems: wordSource, renderPrompt: renderWord, rewards: [vowel, len], config, solved: (c) => c.startsWith('a') });
  for (let i = 0; i < STEPS; i++) {
    const r = await trainer.trainStep();
    console.log(JSON.stringify({ run: `tiny/${name}`, step: r.step, updated: r.updated, metrics: results(r.metrics), groups: views(r) }));
  }
  trainer.dispose();
  policy.dispose();
}

async function shipped(): Promise<void> {
  let finished: () => void = () => undefined;
  const done = new Promise<void>((r) => (finished = r));
  const session = new TrainingSession(
    (e: WorkerEvent) => {
      if (e.type === 'metrics') console.log(JSON.stringify({ run: 'shipped', step: e.step, metrics: results(e.metrics) }));
      if (e.type === 'rollouts') console.log(JSON.stringify({ run: 'shipped', step: e.step, groups: e.groups }));
      if (e.type === 'error') {
        console.log(JSON.stringify({ run: 'shipped', error: e.message }));
        finished();
      }
      if (e.type === 'state' && (e.state === 'ready' || e.state === 'error') && e.reason) finished();
    },
    { initBackend: () => initNodeBackend('cpu'), embedded: modelSource(resolve('public/models/tabzero-tiny')) },
    { checkpointEvery: 0 },
  );
  await session.handle({ type: 'load', source: { kind: 'embedded' }, backend: 'cpu' });
  const config = { seed: 7, num_generations: 4, prompts_per_step: 2, max_completion_length: 48, learning_rate: 5e-5, max_steps: STEPS, micro_batch_size: 4 };
  await session.handle({ type: 'start', config, task: { kind: 'toy-world' } });
  await done;
  await session.dispose();
}

const only = process.argv[2];
for (const [name, config] of Object.entries(TINY_RUNS)) if (!only || only === name) await tiny(name, config);
if (!only || only === 'shipped') await shipped();
