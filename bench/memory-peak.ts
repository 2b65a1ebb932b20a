/**
 * Measured peak tensor bytes of one GRPO update (tf.profile's peakBytes around trainStep, with a
 * rollout stubbed to exact lengths) beside the estimate of src/core/grpo/memory-estimate.ts.
 *
 *   npx tsx bench/memory-peak.ts [--backend wasm]
 *
 * Prints one JSON line per shape. Figures only.
 */
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { measureUpdatePeak } from '../test/fixtures/update-peak';
import { parseConfig } from '../src/core/model/config';
import { estimateUpdateBytes } from '../src/core/grpo/memory-estimate';
import { readFileSync } from 'node:fs';

const backend = (process.argv.includes('--backend') ? process.argv[process.argv.indexOf('--backend') + 1] : 'wasm') as 'wasm';
await initNodeBackend(backend);
const shipped = parseConfig(JSON.parse(readFileSync('public/models/tabzero-tiny/config.json', 'utf8')) as Record<string, unknown>);
const shapes = [
  { rows: 16, micro: 16, prompt: 40, completion: 40 },
  { rows: 32, micro: 16, prompt: 40, completion: 80 },
  { rows: 32, micro: 32, prompt: 60, completion: 128 },
  { rows: 16, micro: 8, prompt: 60, completion: 128 },
];
for (const s of shapes) {
  const measured = await measureUpdatePeak(shipped, s);
  const est = estimateUpdateBytes(shipped, { rows: s.rows, microBatch: s.micro, promptLength: s.prompt, completionLength: s.completion, beta: 0, numIterations: 1 });
  console.log(JSON.stringify({ ...s, measuredMB: +(measured.peakBytes / 2 ** 20).toFixed(1), estimateMB: +(est.totalBytes / 2 ** 20).toFixed(1), ratio: +(est.totalBytes / measured.peakBytes).toFixed(3), tensorsLeft: measured.leaked }));
}
// Another shape (untied embeddings, 8 heads over 4 kv heads) with the KL reference and two passes.
const other = parseConfig({ model_type: 'llama', vocab_size: 700, hidden_size: 64, intermediate_size: 176, num_hidden_layers: 3, num_attention_heads: 8, num_key_value_heads: 4, max_position_embeddings: 256, tie_word_embeddings: false, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0 });
for (const s of [{ rows: 12, micro: 6, prompt: 30, completion: 60, beta: 0.04, numIterations: 2 }]) {
  const measured = await measureUpdatePeak(other, s);
  const est = estimateUpdateBytes(other, { rows: s.rows, microBatch: s.micro, promptLength: s.prompt, completionLength: s.completion, beta: s.beta, numIterations: s.numIterations });
  console.log(JSON.stringify({ model: 'other', ...s, measuredMB: +(measured.peakBytes / 2 ** 20).toFixed(1), estimateMB: +(est.totalBytes / 2 ** 20).toFixed(1), ratio: +(est.totalBytes / measured.peakBytes).toFixed(3) }));
}
void tf;
