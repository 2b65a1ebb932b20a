/**
 * The update's memory estimate against the measured peak (tf.profile's peakBytes around a GRPO
 * step on wasm, rollout stubbed to exact lengths), on the shipped model's shape and on a model of
 * another shape with the KL reference and two passes; and every preset's plan fits wasm.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { parseConfig } from '../../src/core/model/config';
import { chooseMicroBatch, estimateUpdateBytes, paramCount } from '../../src/core/grpo/memory-estimate';
import { randomInit } from '../../src/core/model/causal-lm';
import { validateConfig } from '../../src/core/grpo/config';
import { PRESETS, applyPreset, toPatch } from '../../src/ui/config-schema';
import { planMemory, WASM_BUDGET_BYTES } from '../../src/worker/memory-plan';
import { measureUpdatePeak, type PeakShape } from '../fixtures/update-peak';
import { loadModel } from '../../src/core/model/load';
import { longestPrompt } from '../../src/worker/session-helpers';
import { createTask } from '../../src/core/tasks/index';
import { renderPrompt } from '../../src/core/tasks/prompt';

/** |estimate − measured| / measured stays within this on every shape below (measured: ≤ 4%). */
const TOLERANCE = 0.2;

const shipped = parseConfig(JSON.parse(readFileSync('public/models/tabzero-tiny/config.json', 'utf8')) as Record<string, unknown>);
const other = parseConfig({
  model_type: 'llama', vocab_size: 700, hidden_size: 64, intermediate_size: 176, num_hidden_layers: 3,
  num_attention_heads: 8, num_key_value_heads: 4, max_position_embeddings: 256, tie_word_embeddings: false,
  bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
});

// A vocabulary past VOCAB_CHUNKED_MIN, so the update takes the row-blocked log-prob head.
const bigVocab = parseConfig({
  model_type: 'llama', vocab_size: 16384, hidden_size: 64, intermediate_size: 176, num_hidden_layers: 2,
  num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, tie_word_embeddings: true,
  bos_token_id: 1, eos_token_id: 2, pad_token_id: 0,
});

beforeAll(async () => {
  await initNodeBackend('wasm');
});

/** Files a module loads at run time (type-only imports left out), following relative imports. */
function runtimeImports(file: string, seen = new Set<string>()): Set<string> {
  if (seen.has(file)) return seen;
  seen.add(file);
  const src = readFileSync(file, 'utf8');
  for (const m of src.matchAll(/^(?:(?:import|export)\s+(?!type\b)[^;]*?from\s+|import\s+)'([^']+)'/gms)) {
    const spec = m[1]!;
    if (spec.startsWith('.')) runtimeImports(resolve(dirname(file), spec.endsWith('.ts') ? spec : `${spec}.ts`), seen);
    else seen.add(spec);
  }
  return seen;
}

describe('update memory estimate', () => {
  it('imports no tfjs, as vocab-chunked-threshold.ts and layer-activations.ts exist for', () => {
    const deps = [...runtimeImports(resolve('src/core/grpo/memory-estimate.ts'))];
    // It does read the vocabulary threshold and the layer activation counts.
    expect(deps.some((d) => d.endsWith('vocab-chunked-threshold.ts'))).toBe(true);
    expect(deps.some((d) => d.endsWith('layer-activations.ts'))).toBe(true);
    expect(deps.filter((d) => d.startsWith('@tensorflow') || d.endsWith('llama-layer-grad.ts'))).toEqual([]);
  });

  it('counts the parameters as the engine does', () => {
    for (const c of [shipped, other]) {
      const m = randomInit(c, 1, { trainable: false });
      expect(paramCount(c)).toBe(m.numParams);
      m.dispose();
    }
  });

  const cases: [string, typeof shipped, PeakShape][] = [
    ['shipped model, whole batch', shipped, { rows: 16, micro: 16, prompt: 40, completion: 40 }],
    ['shipped model, two micro-batches, longer', shipped, { rows: 16, micro: 8, prompt: 50, completion: 96 }],
    ['another shape, KL reference, two passes', other, { rows: 12, micro: 6, prompt: 30, completion: 60, beta: 0.04, numIterations: 2 }],
    ['a 16k vocabulary (the row-blocked head)', bigVocab, { rows: 8, micro: 4, prompt: 20, completion: 40 }],
  ];
  it.each(cases)('matches the measured peak on wasm: %s', async (_name, config, s) => {
    const before = tf.memory().numTensors;
    const measured = await measureUpdatePeak(config, s);
    const est = estimateUpdateBytes(config, { rows: s.rows, microBatch: s.micro, promptLength: s.prompt, completionLength: s.completion, beta: s.beta ?? 0, numIterations: s.numIterations ?? 1, compactHead: true });
    const err = Math.abs(est.totalBytes - measured.peakBytes) / measured.peakBytes;
    expect(err, `estimate ${(est.totalBytes / 2 ** 20).toFixed(1)} MiB, measured ${(measured.peakBytes / 2 ** 20).toFixed(1)} MiB`).toBeLessThan(TOLERANCE);
    expect(measured.leaked).toBe(0);
    expect(tf.memory().numTensors).toBe(before);
  }, 120_000);

  it('picks the largest micro-batch under the limit, preferring equal micro-batches', () => {
    const shape = { rows: 128, promptLength: 60, completionLength: 128, beta: 0, numIterations: 1 };
    const est = (m: number) => estimateUpdateBytes(shipped, { ...shape, microBatch: m }).totalBytes;
    const limit = est(20);
    const p = chooseMicroBatch(shipped, shape, limit);
    expect(p.fits).toBe(true);
    expect(p.microBatch).toBe(16); // 20 fits, 128 % 20 ≠ 0; 16 is the largest divisor ≥ 10
    expect(chooseMicroBatch(shipped, shape, est(128)).microBatch).toBe(128);
    expect(chooseMicroBatch(shipped, shape, est(1) - 1).fits).toBe(false);
    // Never above what the settings accept, however much memory there is.
    expect(chooseMicroBatch(shipped, { ...shape, rows: 262_144 }, Number.MAX_VALUE).microBatch).toBe(4096);
  });
});

describe('presets', () => {
  it.each(PRESETS.map((p) => [p.id]))('%s gets a memory plan that fits wasm on the shipped model', async (id) => {
    const cfg = validateConfig(toPatch(applyPreset(id as 'lecture').config));
    const m = await loadModel({ kind: 'dir', path: 'public/models/tabzero-tiny' }, { trainable: false });
    const promptLength = longestPrompt(createTask({ kind: 'toy-world' }), (p, o) => renderPrompt(p, o), { encode: (t) => m.tokenizer.encode(t), decode: (ids) => m.tokenizer.decode(ids) }, cfg.scaffold_hard_problems);
    m.model.dispose();
    expect(promptLength).toBeGreaterThan(20);
    const plan = planMemory(shipped, cfg, promptLength, { totalBytes: WASM_BUDGET_BYTES, maxTensorBytes: WASM_BUDGET_BYTES });
    expect(plan.fits).toBe(true);
    expect(plan.estimatedBytes).toBeLessThanOrEqual(WASM_BUDGET_BYTES);
    expect(plan.microBatchSize).toBeGreaterThanOrEqual(1);
    console.log(JSON.stringify({ preset: id, promptLength, ...plan, estimatedMiB: Math.round(plan.estimatedBytes / 2 ** 20) }));
  });
});
