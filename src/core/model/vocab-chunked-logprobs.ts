/**
 * Per-token log-prob and entropy of rows of logits without [rows, V] intermediates on the tape.
 * The plain formulation (log-softmax, one-hot product, exp, product) leaves four or five [rows, V]
 * tensors saved for backward, each as large as the logits: at a real vocabulary (49k–152k tokens)
 * they dominate the update's memory. Here one custom-gradient op keeps only the logits and three
 * numbers a row (log-sum-exp, entropy, target); forward and backward walk blocks of rows, so their
 * temporaries are one block of [rows, V] each. The backward is d/ds = dyLp·(onehot − p) −
 * dyH·p·(log p + H), divided by the temperature; the one-hot term is a scatter at each row's
 * target rather than a [rows, V] one-hot.
 *
 * Blocks are of rows, each over the whole vocabulary: a block of rows is a contiguous slice (a
 * block of vocabulary columns would be a strided copy), and one row of even 152k tokens is 0.6 MB,
 * so a whole-vocabulary block needs no running log-sum-exp across chunks.
 */
import * as tf from '@tensorflow/tfjs-core';

/** Bytes of one block's [rows, V] float32 temporaries; a few of them are alive at once. */
export const BLOCK_BYTES = 8 * 2 ** 20;

/** Rows per block at vocabulary V: as many as fit BLOCK_BYTES, at least one. */
export function rowsPerBlock(V: number, blockBytes = BLOCK_BYTES): number {
  return Math.max(1, Math.floor(blockBytes / (4 * V)));
}

/** Rows r0 … r0+n−1 of x: contiguous, so a copy of those rows alone (on wasm with the Slice startWasm installs, kernels/wasm-slice.ts). */
function rowBlock(x: tf.Tensor2D, r0: number, n: number): tf.Tensor2D {
  if (r0 === 0 && n === x.shape[0]) return x;
  return tf.slice(x, [r0, 0], [n, x.shape[1]]);
}

function blocks(N: number, R: number): [number, number][] {
  const out: [number, number][] = [];
  for (let r = 0; r < N; r += R) out.push([r, Math.min(R, N - r)]);
  return out;
}

/**
 * logits [N, V], targets [N] (int32) → [N, 2]: column 0 the log-prob of each row's target under
 * softmax(logits / temperature), column 1 that distribution's entropy. Differentiable w.r.t. the
 * logits (not the targets). The caller disposes the result; the logits and targets stay the
 * caller's.
 */
export function chunkedTokenStats(logits: tf.Tensor2D, targets: tf.Tensor1D, temperature = 1, blockBytes = BLOCK_BYTES): tf.Tensor2D {
  const [N, V] = logits.shape;
  if (targets.shape[0] !== N) throw new Error(`chunkedTokenStats: ${N} rows of logits but ${targets.shape[0]} targets`);
  const R = rowsPerBlock(V, blockBytes);
  const scaled = (x: tf.Tensor2D) => (temperature === 1 ? x : tf.div(x, temperature));
  const op = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const lg = args[0] as tf.Tensor2D;
    const save = args[1] as tf.GradSaveFunc;
    // [N, 3]: target log-prob, entropy, lse; forward temporaries are one block at a time.
    const stats = tf.tidy(() => {
      const parts = blocks(N, R).map(([r0, n]) =>
        tf.tidy(() => {
          const s = scaled(rowBlock(lg, r0, n));
          const m = tf.max(s, -1, true);
          const d = tf.sub(s, m);
          const e = tf.exp(d);
          const sum = tf.sum(e, -1);
          const logSum = tf.log(sum);
          const lse = tf.add(tf.reshape(m, [n]), logSum);
          // H = log Σe − Σ e·(s − m) / Σe: offsets from the row max, so a peaked row (large m)
          // does not lose the entropy to cancellation between two large numbers.
          const ent = tf.sub(logSum, tf.div(tf.sum(tf.mul(e, d), -1), sum));
          const t = tf.slice(targets, [r0], [n]);
          const flat = tf.add(tf.mul(tf.range(0, n, 1, 'int32'), tf.scalar(V, 'int32')), t);
          const target = tf.gather(tf.reshape(s, [n * V]), flat);
          return tf.stack([tf.sub(target, lse), ent, lse], 1);
        }),
      );
      return parts.length === 1 ? parts[0]! : tf.concat(parts, 0);
    });
    save([lg, targets, stats]);
    const out = tf.slice(stats, [0, 0], [N, 2]);
    stats.dispose();
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [zs, ts, st] = saved as [tf.Tensor2D, tf.Tensor1D, tf.Tensor2D];
        const parts = blocks(N, R).map(([r0, n]) =>
          tf.tidy(() => {
            const s = scaled(rowBlock(zs, r0, n));
            const row = tf.slice(st, [r0, 0], [n, 3]);
            const ent = tf.slice(row, [0, 1], [n, 1]);
            const lse = tf.slice(row, [0, 2], [n, 1]);
            const d = tf.slice(dy, [r0, 0], [n, 2]);
            const dLp = tf.slice(d, [0, 0], [n, 1]);
            const dH = tf.slice(d, [0, 1], [n, 1]);
            // −p·(dyLp + dyH·(log p + H)) as p·(a + b·log p) with per-row a = −dyLp − dyH·H and
            // b = −dyH: five passes over the block; then + dyLp at each row's target.
            const a = tf.neg(tf.add(dLp, tf.mul(dH, ent)));
            const b = tf.neg(dH);
            const logp = tf.sub(s, lse);
            const g = tf.mul(tf.exp(logp), tf.add(a, tf.mul(logp, b)));
            const at = tf.stack([tf.range(0, n, 1, 'int32'), tf.slice(ts, [r0], [n])], 1) as tf.Tensor2D;
            const updated = tf.add(tf.gatherND(g, at), tf.reshape(dLp, [n]));
            const out = tf.tensorScatterUpdate(g, at, updated);
            return temperature === 1 ? out : tf.div(out, temperature);
          }),
        );
        if (parts.length === 1) return parts[0]!;
        const g = tf.concat(parts, 0);
        for (const p of parts) p.dispose();
        return g;
      },
    };
  });
  return op(logits) as tf.Tensor2D;
}
