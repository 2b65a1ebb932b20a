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
import { matMulPlain } from '../src/core/model/matmul';
import { syntheticRows, updateRunner, type Shape } from './update-runner';

export { syntheticRows, updateRunner, type Shape, type UpdateRunner } from './update-runner';

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

async function timeIt(f: () => Promise<void>): Promise<number> {
  const t0 = performance.now();
  await f();
  return (performance.now() - t0) / 1000;
}

/** n² × n² products a second, through `product` (default tf.matMul: XNNPACK on wasm). */
export async function matmulGflops(n: number, reps: number, product: (a: tf.Tensor, b: tf.Tensor) => tf.Tensor = tf.matMul): Promise<number> {
  const a = tf.randomNormal([n, n]);
  const b = tf.randomNormal([n, n]);
  const run = async () => {
    const c = tf.tidy(() => product(a, b));
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
  tf_matmul512_gflops: number;
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
  // The products TabZero runs (matmul.ts: this project's kernel on one-thread wasm) and tf.matMul's.
  const mm = await matmulGflops(512, 10, (a, b) => matMulPlain(a, b));
  const tfmm = await matmulGflops(512, 10);
  return { update_s: update, rollout_s: rollout, matmul512_gflops: mm, tf_matmul512_gflops: tfmm, update_peak_bytes: peak, update_recompute_s: recomputeS, update_recompute_peak_bytes: recomputePeak, loss };
}
