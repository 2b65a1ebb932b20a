/**
 * Time of one GRPO step per backend, split into rollout and update, with rollout tokens/s and the
 * update's achieved FLOP/s beside the backend's own large-matmul FLOP/s measured in the same run.
 *
 *   npx tsx bench/train-step.ts                  # side by side with PyTorch (see below)
 *   npx tsx bench/train-step.ts [--backends wasm,webgpu,cpu] [--models tiny,smollm] [--full]
 *
 * Without --backends/--models it runs the comparison with PyTorch on the CPU: the RL test's step
 * shape (16 prompts × 8 generations, 60-token prompts, 96 new tokens, micro-batch 32) on the
 * shipped model, and a reduced shape on a SmolLM2-135M-shaped random model, each on wasm and in
 * bench/torch_ref.py (1 thread, whatever BLAS Debian's python3-torch maps: install
 * libopenblas0-openmp, or the reference BLAS makes PyTorch ~25× slower), and prints a ratio table.
 * PyTorch is skipped, with a note, where no python3 can import torch.
 *
 * Models: "tiny" (~1M parameters, llama-shaped) and "smollm" (SmolLM2-135M's shape with random
 * weights: hidden 576, 30 layers, 9 heads, 3 kv heads, intermediate 1536, vocab 49152).
 * The target batch is 8 prompts × G = 8; on CPU backends (and on llvmpipe WebGPU, a CPU too)
 * the 135M model runs a reduced batch unless --full is given, and the printout says so.
 * Prints one JSON line per (backend, model). Figures only; nothing is asserted.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { parseConfig } from '../src/core/model/config';
import { randomInit } from '../src/core/model/causal-lm';
import { GRPOTrainer, type TextTokenizer } from '../src/core/grpo/trainer';
import { generate } from '../src/core/model/generate';
import { fromRewardFn } from '../src/core/rewards/runner';
import type { Problem } from '../src/core/types';
import type { BackendName } from '../src/worker/protocol';
import { compareWithTorch } from './vs-torch';
import { matmulGflops } from './rl-shape';

const MODELS = {
  tiny: { hidden_size: 128, intermediate_size: 384, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, vocab_size: 1024 },
  smollm: { hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, vocab_size: 49152 },
} as const;
type ModelName = keyof typeof MODELS;

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Token ids are drawn uniformly from the vocabulary: a random model's text has no meaning anyway. */
function syntheticTokenizer(vocab: number, promptLen: number): TextTokenizer {
  return {
    encode: (text) => {
      let h = 0;
      for (const ch of text) h = (Math.imul(h, 31) + ch.charCodeAt(0)) >>> 0;
      return Array.from({ length: promptLen }, (_, i) => 3 + ((h + i * 7919) % (vocab - 3)));
    },
    decode: (ids) => ids.map((i) => String.fromCharCode(97 + (i % 26))).join(''),
  };
}

async function benchOne(backend: BackendName, name: ModelName, full: boolean): Promise<Record<string, unknown>> {
  const shape = MODELS[name];
  const config = parseConfig({ model_type: 'llama', ...shape, max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, hidden_act: 'silu' });
  // Every backend on this machine is a CPU in disguise (Node WebGPU runs on llvmpipe).
  const reduced = name === 'smollm' && !full;
  const prompts = reduced ? 1 : 8;
  const G = reduced ? 2 : 8;
  const promptLen = reduced ? 16 : 32;
  const newTokens = reduced ? 8 : 32;
  const policy = randomInit(config, 1);
  // Rollout alone first, before the optimizer's moments exist: it still gives a figure where a
  // full training step does not fit in the backend's memory.
  const rows = Array.from({ length: prompts * G }, (_, i) => Array.from({ length: promptLen }, (_, j) => 3 + ((i * 131 + j * 17) % (config.vocabSize - 3))));
  const gen = () => generate(policy, rows, { maxNewTokens: newTokens, temperature: 1, seed: 1, eosTokenIds: [-1], padTokenId: 0 });
  await gen();
  const tg = performance.now();
  await gen();
  const rolloutOnlyS = (performance.now() - tg) / 1000;
  const base = {
    backend,
    model: name,
    params: policy.numParams,
    batch: `${prompts} prompts x G=${G}, prompt ${promptLen} + ${newTokens} new tokens`,
    reduced: reduced ? 'yes: 1x2 instead of 8x8; on CPU-class backends the full batch takes many minutes (--full runs it)' : 'no',
    rollout_only_s: +rolloutOnlyS.toFixed(3),
    rollout_only_tokens_per_s: +((rows.length * newTokens) / rolloutOnlyS).toFixed(1),
  };
  // Reward on the first token's id parity: some groups vary, so the update does real work.
  const reward = fromRewardFn({ name: 'parity', fn: (c) => (c.charCodeAt(0) % 2 === 0 ? 1 : 0) });
  const trainer = new GRPOTrainer({
    policy,
    tokenizer: syntheticTokenizer(config.vocabSize, promptLen),
    problems: { sample: (rng, n): Problem[] => Array.from({ length: n }, (_, i) => ({ id: `p${i}`, task: 'bench', question: `q${rng.int(0, 1e9)}`, answer: '' })) },
    renderPrompt: (p) => p.question,
    rewards: [reward],
    // No EOS in a random model's vocabulary use: every completion runs to the full length.
    eosTokenIds: [-1],
    padTokenId: 0,
    config: { num_generations: G, prompts_per_step: prompts, max_completion_length: newTokens, learning_rate: 1e-4 },
  });
  const steps: Record<string, number>[] = [];
  // The first step pays shader compilation and allocation; the second is the figure.
  try {
    for (let i = 0; i < 2; i++) steps.push((await trainer.trainStep()).metrics);
  } catch (e) {
    // fp32 weights + gradients + two AdamW moments = 16 bytes per parameter before activations.
    return { ...base, step_failed: (e as Error).message, training_state_gb: +((16 * policy.numParams) / 1e9).toFixed(2) };
  }
  const m = steps[1]!;
  const tokens = prompts * G * (promptLen + newTokens);
  // Forward + backward ≈ 6 FLOP per parameter per token (the tied head's matmul included; the
  // embedding lookup and attention's L² terms left out: small at these lengths).
  const updateFlop = 6 * policy.numParams * tokens;
  const n = name === 'smollm' ? 1024 : 512;
  const mm = (await matmulGflops(n, backend === 'cpu' ? 2 : 5)) * 1e9;
  trainer.dispose();
  policy.dispose();
  return {
    ...base,
    first_step_s: +(steps[0]!.rollout_time_s! + steps[0]!.update_time_s!).toFixed(3),
    rollout_s: +m.rollout_time_s!.toFixed(3),
    update_s: +m.update_time_s!.toFixed(3),
    rollout_tokens_per_s: +m.tokens_per_s!.toFixed(1),
    update_gflop: +(updateFlop / 1e9).toFixed(2),
    update_gflop_per_s: +(updateFlop / m.update_time_s! / 1e9).toFixed(2),
    [`matmul_${n}_gflop_per_s`]: +(mm / 1e9).toFixed(2),
    update_vs_matmul: +(updateFlop / m.update_time_s! / mm).toFixed(3),
  };
}

async function main(): Promise<void> {
  if (!process.argv.includes('--backends') && !process.argv.includes('--models')) {
    await compareWithTorch();
    return;
  }
  const backends = arg('backends', 'wasm,webgpu').split(',') as BackendName[];
  const models = arg('models', 'tiny,smollm').split(',') as ModelName[];
  const full = process.argv.includes('--full');
  for (const b of backends) {
    const report = await initNodeBackend(b);
    if (report.name !== b) {
      console.log(JSON.stringify({ backend: b, skipped: report.fallbackReason }));
      continue;
    }
    for (const m of models) {
      try {
        console.log(JSON.stringify({ adapter: report.adapter, ...(await benchOne(b, m, full)) }));
      } catch (e) {
        console.log(JSON.stringify({ backend: b, model: m, failed: (e as Error).message }));
      }
    }
  }
}

void main();
