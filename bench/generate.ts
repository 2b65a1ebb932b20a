/**
 * Generation throughput: tokens/s with the KV cache against naive recomputation, for batch 1, 8
 * and 64 at 64 new tokens, on each backend that initialises here (cpu, wasm, webgpu through Dawn),
 * for a ~1M-parameter llama-shaped model and a SmolLM2-135M-shaped one (random weights).
 * Run: npx tsx bench/generate.ts [--backends cpu,wasm,webgpu] [--models tiny,smol] [--full]
 * Slow combinations run a reduced set (fewer new tokens, smaller batches); the table says which.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { parseConfig } from '../src/core/model/config';
import { randomInit, type CausalLM } from '../src/core/model/causal-lm';
import { generate, generateNaive } from '../src/core/model/generate';
import { Rng } from '../src/core/rng';
import type { BackendName } from '../src/worker/protocol';

const MODELS = {
  tiny: { model_type: 'llama', vocab_size: 2048, hidden_size: 128, intermediate_size: 384, num_hidden_layers: 4, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 512, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true },
  smol: { model_type: 'llama', vocab_size: 49152, hidden_size: 576, intermediate_size: 1536, num_hidden_layers: 30, num_attention_heads: 9, num_key_value_heads: 3, max_position_embeddings: 2048, rms_norm_eps: 1e-5, rope_theta: 100000, tie_word_embeddings: true },
} as const;
type ModelName = keyof typeof MODELS;

interface Case {
  batch: number;
  newTokens: number;
  naive: boolean;
}

/** What each backend × model runs: the full grid where it finishes in seconds, a reduced one elsewhere. */
function plan(backend: BackendName, model: ModelName): { cases: Case[]; note: string } {
  const full = [1, 8, 64].map((batch) => ({ batch, newTokens: 64, naive: true }));
  if (backend === 'webgpu') {
    // Here WebGPU is Dawn on Mesa llvmpipe (a CPU rasteriser): every kernel costs milliseconds, so this
    // measures the code path, not a GPU. On a real GPU run the full grid with --full.
    if (process.argv.includes('--full')) return { cases: full, note: '' };
    return model === 'tiny'
      ? { cases: [1, 8, 64].map((batch) => ({ batch, newTokens: 16, naive: batch === 1 })), note: 'reduced: 16 new tokens, naive at batch 1 only (llvmpipe software adapter; --full for the whole grid)' }
      : { cases: [{ batch: 1, newTokens: 4, naive: false }], note: 'reduced: batch 1, 4 new tokens (llvmpipe software adapter; --full for the whole grid)' };
  }
  if (model === 'tiny') {
    if (backend === 'cpu') return { cases: [1, 8, 64].map((batch) => ({ batch, newTokens: 64, naive: batch <= 8 })), note: 'naive skipped at batch 64 (minutes on cpu)' };
    return { cases: full, note: '' };
  }
  if (backend === 'cpu') return { cases: [{ batch: 1, newTokens: 8, naive: false }], note: 'reduced: batch 1, 8 new tokens, no naive run (the cpu backend is too slow for more)' };
  return {
    cases: [
      { batch: 1, newTokens: 16, naive: true },
      { batch: 8, newTokens: 16, naive: false },
    ],
    note: 'reduced: batch 1 and 8, 16 new tokens, naive at batch 1 only (2 shared CPU cores here)',
  };
}

function flag(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

/** Three significant digits, so slow software-adapter figures don't print as 0.0. */
const fmt = (x: number) => (x >= 100 ? x.toFixed(0) : x.toPrecision(3));

async function time(model: CausalLM, prompts: number[][], newTokens: number, naive: boolean): Promise<number> {
  const opts = { maxNewTokens: newTokens, temperature: 1, seed: 1, eosTokenIds: [], padTokenId: 0 };
  const t0 = performance.now();
  const r = await (naive ? generateNaive : generate)(model, prompts, opts);
  const secs = (performance.now() - t0) / 1000;
  const n = r.tokens.reduce((a, t) => a + t.length, 0);
  return n / secs;
}

async function main(): Promise<void> {
  const backends = flag('backends', 'cpu,wasm,webgpu').split(',') as BackendName[];
  const models = flag('models', 'tiny,smol').split(',') as ModelName[];
  const rows: string[][] = [['backend', 'model', 'params', 'batch', 'new', 'cache tok/s', 'naive tok/s', 'cache/naive']];
  const notes: string[] = [];
  for (const backend of backends) {
    const report = await initNodeBackend(backend);
    if (report.name !== backend) {
      notes.push(`${backend}: not available (${report.fallbackReason ?? 'unknown'}); skipped`);
      continue;
    }
    if (report.adapter) notes.push(`${backend} adapter: ${report.adapter}`);
    for (const name of models) {
      const config = parseConfig({ ...MODELS[name] });
      const model = randomInit(config, 0);
      const rng = new Rng(5);
      const { cases, note } = plan(backend, name);
      if (note) notes.push(`${backend} ${name}: ${note}`);
      // Warm-up compiles shaders / allocates, so the timed runs measure steady state.
      await generate(model, [[1, 2, 3]], { maxNewTokens: 2, temperature: 1, seed: 0, eosTokenIds: [], padTokenId: 0 });
      await generateNaive(model, [[1, 2, 3]], { maxNewTokens: 2, temperature: 1, seed: 0, eosTokenIds: [], padTokenId: 0 });
      for (const c of cases) {
        const prompts = Array.from({ length: c.batch }, () => Array.from({ length: 8 }, () => rng.int(1, config.vocabSize - 1)));
        const cached = await time(model, prompts, c.newTokens, false);
        const naive = c.naive ? await time(model, prompts, c.newTokens, true) : NaN;
        rows.push([backend, name, `${(model.numParams / 1e6).toFixed(2)}M`, String(c.batch), String(c.newTokens), fmt(cached), c.naive ? fmt(naive) : '-', c.naive ? (cached / naive).toFixed(2) : '-']);
        console.error(rows.at(-1)!.join('\t'));
      }
      model.dispose();
      if (tf.memory().numTensors !== 0) notes.push(`${backend} ${name}: ${tf.memory().numTensors} tensors left after dispose`);
    }
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  for (const r of rows) console.log(r.map((c, i) => c.padStart(widths[i]!)).join('  '));
  for (const n of notes) console.log(`note: ${n}`);
  console.log('tok/s = generated tokens (all rows) / wall time including prefill; temperature 1, prompts of 8 tokens.');
}

await main();
