/**
 * The RL test's step shape, measured piece by piece on the active backend: rollout (B rows ×
 * new tokens through the KV cache, every row to full length), update (log-probs, the dapo loss,
 * backward and AdamW over micro-batches, as GRPOTrainer.update does with beta 0 and μ = 1), a
 * 512² matmul, and the update's peak heap bytes above what the model and optimizer hold.
 * bench/torch_ref.py runs the same shape in PyTorch; bench/train-step.ts prints both.
 */
import * as tf from '@tensorflow/tfjs-core';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseConfig } from '../src/core/model/config';
import { parseSafetensors } from '../src/core/model/safetensors';
import { CausalLM, randomInit } from '../src/core/model/causal-lm';
import { generate } from '../src/core/model/generate';
import { packBatch, tokenLogProbs } from '../src/core/model/logprobs';
import { grpoLoss } from '../src/core/grpo/loss';
import { lossOptions } from '../src/core/grpo/update';
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

export const RL_SHAPE: Shape = { prompts: 16, generations: 8, promptLen: 60, newTokens: 96, microBatch: 32 };

export const SMOLLM_SHAPE_CONFIG = {
  model_type: 'llama', hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3,
  vocab_size: 49152, max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true,
  bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, hidden_act: 'silu',
};

export function loadShipped(dir: string): CausalLM {
  const config = parseConfig(JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')));
  const tensors = parseSafetensors(new Uint8Array(readFileSync(join(dir, 'model.safetensors'))));
  return new CausalLM(config, tensors);
}

export function randomModel(raw: Record<string, unknown>, seed: number): CausalLM {
  return randomInit(parseConfig(raw), seed);
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

async function timeIt(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

export async function matmulGflops(n: number, reps: number): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const run = async () => {
    const c = tf.matMul(a, b);
    await c.data();
    c.dispose();
  };
  await run();
  const s = (await timeIt(async () => {
    for (let i = 0; i < reps; i++) await run();
  })) / reps;
  a.dispose();
  b.dispose();
  return (2 * n ** 3) / s / 1e9;
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
        const { logprobs, entropy } = tokenLogProbs(model, batch, 1);
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
      const next: Record<string, tf.Tensor> = {};
      for (const [name, v] of vars) {
        const g = grads[v.name]!;
        next[name] = acc ? tf.add(acc[name]!, g) : g;
        if (acc) {
          acc[name]!.dispose();
          g.dispose();
        }
      }
      acc = next;
    }
    await opt.step(acc!, 1e-6);
    for (const g of Object.values(acc!)) g.dispose();
    return total;
  };
  // AdamW's moments stay allocated: a bench process ends after its figures.
  return { run };
}

/**
 * Live bytes of the wasm heap's allocations, with their peak: tf.memory() counts a tensor that
 * shares another's buffer twice, so it cannot show what sharing saves. Wraps the backend's
 * _malloc/_free; bench-only.
 */
export function wasmHeapTracker(): { reset(): void; peak(): number; live(): number } | null {
  const be = tf.backend() as unknown as { wasm?: { _malloc(n: number): number; _free(p: number): void } };
  const w = be.wasm;
  if (!w) return null;
  const sizes = new Map<number, number>();
  let live = 0;
  let peak = 0;
  const malloc = w._malloc.bind(w);
  const free = w._free.bind(w);
  w._malloc = (n: number) => {
    const p = malloc(n);
    sizes.set(p >>> 0, n);
    live += n;
    if (live > peak) peak = live;
    return p;
  };
  w._free = (p: number) => {
    const n = sizes.get(p >>> 0);
    if (n !== undefined) {
      live -= n;
      sizes.delete(p >>> 0);
    }
    free(p);
  };
  return { reset: () => void (peak = live), peak: () => peak, live: () => live };
}

let heap: ReturnType<typeof wasmHeapTracker> | undefined;

export interface TabZeroFigures {
  update_s: number;
  rollout_s: number;
  matmul512_gflops: number;
  update_peak_bytes: number;
  /** The same update with CausalLM.recomputeLayers = true (NaN when not asked for). */
  update_recompute_s: number;
  update_recompute_peak_bytes: number;
  loss: number;
}

/** Warm-up, then one timed run of each; peak bytes from tf.profile on a further update. */
/**
 * Warm-up, then one timed run of each; peak heap bytes on a further update. `plain: false` skips
 * the update without recomputation (for shapes only the recomputing one fits).
 */
export async function measureTabZero(model: CausalLM, s: Shape, opts: { rollout: boolean; profile: boolean; recompute?: boolean; plain?: boolean }): Promise<TabZeroFigures> {
  const data = syntheticRows(model.config, s);
  const upd = updateRunner(model, s, data);
  // The plain update first (the property is absent in versions without recomputation).
  const recomputeDefault = model.recomputeLayers;
  if (heap === undefined) heap = wasmHeapTracker();
  const peakOf = async (): Promise<number> => {
    if (heap) {
      // Allocations made before the tracker was installed are not counted live: measure above the current level.
      heap.reset();
      const base = heap.live();
      await upd.run();
      return heap.peak() - base;
    }
    const before = tf.memory().numBytes;
    const info = await tf.profile(async () => void (await upd.run()));
    return info.peakBytes - before;
  };
  let rollout = NaN;
  if (opts.rollout) {
    const rows = data.prompts;
    const gen = () => generate(model, rows, { maxNewTokens: s.newTokens, temperature: 1, seed: 1, eosTokenIds: [-1], padTokenId: 0 });
    await gen();
    rollout = await timeIt(async () => void (await gen()));
  }
  let loss = NaN;
  let update = NaN;
  let peak = NaN;
  let recomputeS = NaN;
  let recomputePeak = NaN;
  try {
    if (opts.plain ?? true) {
      model.recomputeLayers = false;
      await upd.run();
      update = await timeIt(async () => void (loss = await upd.run()));
      if (opts.profile) peak = await peakOf();
    }
    if (opts.recompute) {
      model.recomputeLayers = true;
      if (!(opts.plain ?? true)) await upd.run();
      recomputeS = await timeIt(async () => void (loss = await upd.run()));
      recomputePeak = await peakOf();
    }
  } finally {
    model.recomputeLayers = recomputeDefault;
  }
  const mm = await matmulGflops(512, 10);
  return { update_s: update, rollout_s: rollout, matmul512_gflops: mm, update_peak_bytes: peak, update_recompute_s: recomputeS, update_recompute_peak_bytes: recomputePeak, loss };
}
