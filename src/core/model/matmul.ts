/**
 * Matrix products with a gradient built from the fastest products each backend has.
 *
 * wasm on one thread: this project's product kernel (kernels/wasm-gemm.ts) for every product, its
 * operands read transposed in place. webgpu reads either operand transposed in place too, so
 * there the flags are passed through and no transpose is dispatched (a decode step would
 * otherwise re-transpose weights every token).
 *
 * Elsewhere (cpu; wasm on several threads) a product with transposeA/transposeB (which tf.matMul's
 * own gradient always uses) runs 4–13× slower than the plain one, so the transposes are done
 * explicitly (measured on this project's 2-core machines, [2080,128]×[128,384] forward+backward:
 * tf.matMul with transposeB 292 ms, this 67 ms), and on wasm a batched product (attention's) goes
 * through wasmSlicedMatMul: one XNNPACK call per batch entry instead of tfjs-wasm's scalar loop.
 */
import * as tf from '@tensorflow/tfjs-core';
import { wasmSlicedMatMul, wasmSlicedMatMulAvailable } from '../kernels/wasm-sliced-matmul';
import { wasmFewRowsMatMul, wasmFewRowsMatMulAvailable } from '../kernels/wasm-few-rows-matmul';
import { wasmGemm, wasmGemmAvailable } from '../kernels/wasm-gemm';

function swapLast(x: tf.Tensor): tf.Tensor {
  const r = x.rank;
  const perm = [...Array(r).keys()];
  perm[r - 1] = r - 2;
  perm[r - 2] = r - 1;
  return tf.transpose(x, perm);
}

/**
 * Below this many rows per batch entry, packing each entry's right operand for XNNPACK costs
 * more than the scalar loop saves (a decode step's 2-row attention products measured 3× slower).
 */
export const SLICED_MIN_ROWS = 8;

/** x [..., M, K] × y [..., K, N], untransposed, equal leading dims (or both rank 2). */
function plainProduct(x: tf.Tensor, y: tf.Tensor): tf.Tensor {
  if (x.rank >= 3 && x.rank === y.rank) {
    const lead = x.shape.slice(0, -2);
    const batch = lead.reduce((a, b) => a * b, 1);
    const M = x.shape[x.rank - 2]!;
    const K = x.shape[x.rank - 1]!;
    const N = y.shape[y.rank - 1]!;
    if (batch > 1 && M >= SLICED_MIN_ROWS && wasmSlicedMatMulAvailable()) {
      const out = wasmSlicedMatMul(tf.reshape(x, [batch, M, K]) as tf.Tensor3D, tf.reshape(y, [batch, K, N]) as tf.Tensor3D);
      return tf.reshape(out, [...lead, M, N]);
    }
    // The rest would take tfjs-wasm's scalar loop: the same sums, 16 columns at a time.
    if (batch > 1 && N % 16 === 0 && wasmFewRowsMatMulAvailable()) {
      const out = wasmFewRowsMatMul(tf.reshape(x, [batch, M, K]) as tf.Tensor3D, tf.reshape(y, [batch, K, N]) as tf.Tensor3D);
      return tf.reshape(out, [...lead, M, N]);
    }
  }
  return tf.matMul(x, y);
}

/**
 * True when a batched product with `rows` rows per entry would run tfjs-wasm's scalar loop but
 * its transpose (rows becoming columns) takes the XNNPACK path: callers with few query rows
 * (a decode step's attention) then compute the transposed product instead.
 */
export function preferTransposedProduct(rows: number, cols: number): boolean {
  return rows < SLICED_MIN_ROWS && cols >= SLICED_MIN_ROWS && !wasmGemmAvailable() && wasmSlicedMatMulAvailable();
}

type Product = (a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean) => tf.Tensor;

/**
 * op(a)·op(b) with its gradient through the same product: for C = op(A)·op(B), dA and dB are
 * again such products. Where the product reads a transposed operand in place (webgpu's tf.matMul,
 * wasm-gemm.ts) no transpose is ever materialised; copyingProduct materialises them.
 */
function inPlaceProduct(mm: Product, a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const x = args[0] as tf.Tensor;
    const y = args[1] as tf.Tensor;
    const save = args[2] as tf.GradSaveFunc;
    save([x, y]);
    return {
      value: mm(x, y, transposeA, transposeB),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sy] = saved as [tf.Tensor, tf.Tensor];
        // C = A·B: dA = dC·Bᵀ, dB = Aᵀ·dC; C = A·Bᵀ: dA = dC·B, dB = dCᵀ·A;
        // C = Aᵀ·B: dA = B·dCᵀ, dB = A·dC; C = Aᵀ·Bᵀ: dA = Bᵀ·dCᵀ, dB = dCᵀ·Aᵀ.
        if (!transposeA && !transposeB) return [mm(dy, sy, false, true), mm(sx, dy, true, false)];
        if (!transposeA) return [mm(dy, sy, false, false), mm(dy, sx, true, false)];
        if (!transposeB) return [mm(sy, dy, false, true), mm(sx, dy, false, false)];
        return [mm(sy, dy, true, true), mm(dy, sx, true, true)];
      },
    };
  });
  return f(a, b);
}

const webgpuProduct: Product = (a, b, ta, tb) => tf.matMul(a, b, ta, tb);

/** cpu, and wasm where wasm-gemm.ts does not run: transposed copies, then the plain product. */
const copyingProduct: Product = (a, b, ta, tb) => plainProduct(ta ? swapLast(a) : a, tb ? swapLast(b) : b);

/** Whether wasm-gemm.ts runs these operands: wasm on one thread, equal ranks and leading dims. */
function gemmFits(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.rank === b.rank && a.shape.slice(0, -2).every((d, i) => d === b.shape[i]) && a.dtype === 'float32' && b.dtype === 'float32' && wasmGemmAvailable();
}

/** aᵀ·b over the last two dims (a [..., K, M], b [..., K, N]), with a gradient. */
export function matMulTransposeA(a: tf.Tensor, b: tf.Tensor): tf.Tensor {
  if (inPlaceTransposes()) return inPlaceProduct(webgpuProduct, a, b, true, false);
  if (gemmFits(a, b)) return inPlaceProduct(wasmGemm, a, b, true, false);
  return inPlaceProduct(copyingProduct, a, b, true, false);
}

function inPlaceTransposes(): boolean {
  return tf.getBackend() === 'webgpu';
}

/** a [..., M, K] × b [..., K, N] (or b [..., N, K] with transposeB), equal leading dims or both rank 2. */
export function matMulPlain(a: tf.Tensor, b: tf.Tensor, transposeB = false): tf.Tensor {
  if (inPlaceTransposes()) return inPlaceProduct(webgpuProduct, a, b, false, transposeB);
  if (gemmFits(a, b)) return inPlaceProduct(wasmGemm, a, b, false, transposeB);
  return inPlaceProduct(copyingProduct, a, b, false, transposeB);
}
