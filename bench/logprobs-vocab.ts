/**
 * The log-prob head alone (log-prob of each row's target and the entropy, then their gradient
 * w.r.t. the logits), plain (log-softmax, one-hot product, exp) against the row-blocked
 * custom-gradient head (src/core/model/vocab-chunked-logprobs.ts), in the same run, interleaved:
 *   - held after forward: tensor bytes alive when the forward returns inside tf.grad (what the tape
 *     keeps for backward plus the outputs), above the logits;
 *   - peak: tf.profile's peak tensor bytes of forward + backward, above the logits;
 *   - time of forward + backward.
 * Logit sizes are [rows, V] float32; "× logits" divides by that.
 *
 *   npx tsx bench/logprobs-vocab.ts [--backend wasm|cpu] [--reps 3]
 *
 * Shapes: the shipped model's update micro-batch (32 rows × 156 positions) at V = 384 and 4096
 * (where the threshold lies), and 64–256 rows at V = 49,152 (SmolLM2) and 151,936 (Qwen2.5), sized so
 * that the plain head still fits a wasm heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { chunkedTokenStats } from '../src/core/model/vocab-chunked-logprobs';
import { Rng } from '../src/core/rng';
import { installWasmSharedIdentity } from '../src/core/kernels/wasm-identity';

const arg = (name: string, dflt: string) => (process.argv.includes(name) ? process.argv[process.argv.indexOf(name) + 1]! : dflt);
const backend = arg('--backend', 'wasm') as 'wasm' | 'cpu';
const reps = Number(arg('--reps', '3'));
await initNodeBackend(backend);
// As the app runs on wasm: saved tensors share their buffers (causal-lm.ts installs this).
if (backend === 'wasm') installWasmSharedIdentity();

function plain(z: tf.Tensor2D, y: tf.Tensor1D, V: number): tf.Tensor2D {
  const logp = tf.logSoftmax(z);
  const lp = tf.sum(tf.mul(logp, tf.oneHot(y, V)), -1);
  const ent = tf.neg(tf.sum(tf.mul(tf.exp(logp), logp), -1));
  return tf.stack([lp, ent], 1) as tf.Tensor2D;
}

interface Figures {
  heldBytes: number;
  peakBytes: number;
  seconds: number;
}

async function measure(head: (z: tf.Tensor2D) => tf.Tensor2D, z: tf.Tensor2D, w: tf.Tensor2D): Promise<Figures> {
  const base = tf.memory().numBytes;
  let held = 0;
  const step = () => {
    const g = tf.grad((x: tf.Tensor) => {
      const out = tf.sum(tf.mul(head(x as tf.Tensor2D), w));
      held = tf.memory().numBytes - base;
      return out;
    })(z);
    return g;
  };
  const info = await tf.profile(async () => {
    const g = step();
    await g.data();
    g.dispose();
  });
  const t0 = performance.now();
  const g = step();
  await g.data();
  const seconds = (performance.now() - t0) / 1000;
  g.dispose();
  return { heldBytes: held, peakBytes: info.peakBytes - info.newBytes, seconds };
}

const MB = 2 ** 20;
const shapes = [
  { rows: 32 * 156, V: 384 },
  { rows: 32 * 156, V: 4096 },
  { rows: 256, V: 49_152 },
  { rows: 64, V: 151_936 },
];
for (const { rows, V } of shapes) {
  const rng = new Rng(V);
  const z = tf.tensor2d(new Float32Array(rows * V).map(() => (rng.next() * 2 - 1) * 4), [rows, V]);
  const y = tf.tensor1d(new Int32Array(rows).map(() => Math.floor(rng.next() * V)), 'int32');
  const w = tf.tensor2d(new Float32Array(rows * 2).map(() => rng.next() * 2 - 1), [rows, 2]);
  const logitBytes = rows * V * 4;
  const runs: Record<'plain' | 'chunked', Figures[]> = { plain: [], chunked: [] };
  // Warm-up of both, then interleaved repetitions.
  await measure((x) => plain(x, y, V), z, w);
  await measure((x) => chunkedTokenStats(x, y), z, w);
  for (let r = 0; r < reps; r++) {
    runs.plain.push(await measure((x) => plain(x, y, V), z, w));
    runs.chunked.push(await measure((x) => chunkedTokenStats(x, y), z, w));
  }
  tf.dispose([z, y, w]);
  const range = (xs: number[], f: (x: number) => string) => `${f(Math.min(...xs))}–${f(Math.max(...xs))}`;
  const [p, c] = [runs.plain[0]!, runs.chunked[0]!];
  console.log(
    JSON.stringify({
      backend,
      rows,
      V,
      logitsMB: +(logitBytes / MB).toFixed(1),
      plain: { heldMB: +(p.heldBytes / MB).toFixed(1), peakMB: +(p.peakBytes / MB).toFixed(1), heldXLogits: +(p.heldBytes / logitBytes).toFixed(2), peakXLogits: +(p.peakBytes / logitBytes).toFixed(2), s: range(runs.plain.map((f) => f.seconds), (x) => x.toFixed(3)) },
      chunked: { heldMB: +(c.heldBytes / MB).toFixed(1), peakMB: +(c.peakBytes / MB).toFixed(1), heldXLogits: +(c.heldBytes / logitBytes).toFixed(2), peakXLogits: +(c.peakBytes / logitBytes).toFixed(2), s: range(runs.chunked.map((f) => f.seconds), (x) => x.toFixed(3)) },
      peakRatio: +(c.peakBytes / p.peakBytes).toFixed(3),
      heldRatio: +(c.heldBytes / p.heldBytes).toFixed(3),
    }),
  );
}
