/**
 * Float32 matrix products on tfjs-wasm through this project's own WebAssembly kernel
 * (wasm-gemm.wat): 2-D and batched, either operand transposed, read in place from the backend's
 * heap. At the shapes a training step runs it is ~1.3× XNNPACK's 2-D products on V8, and it needs
 * no transposed copies (XNNPACK runs only untransposed products fast) and no per-batch-entry calls.
 *
 * The kernel runs on the calling thread only, so it is used where tfjs-wasm itself runs on one
 * thread; with more, XNNPACK's threaded products are left in charge. Results equal tf.matMul's
 * within float rounding (the sums run in another order), not bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { MODULE } from './wasm-gemm-module';
import { heapMemory, heapOffset, linkWasmModule, wasmBackend, type WasmBackendLike } from './wasm-module-link';

export const GEMM = 'TabZeroGemm';
export const CAUSAL_GEMM = 'TabZeroCausalGemm';

/** wasm-gemm.wat's workspace: packed A, packed B, one edge tile. */
const WORKSPACE_BYTES = 131072 + 524288 + 128;

type GemmFn = (A: number, sAi: number, sAk: number, B: number, sBk: number, sBj: number, C: number, ldc: number, M: number, K: number, N: number, ws: number, accumulate: number) => void;

interface Linked {
  gemm: GemmFn;
  workspace: number;
}

const linked = new WeakMap<WebAssembly.Memory, Linked | null>();

/** The kernel on this heap with its workspace; null if the module does not link (tf.matMul stays in charge). */
function link(be: WasmBackendLike): Linked | null {
  const memory = heapMemory(be);
  let entry = linked.get(memory);
  if (entry === undefined) {
    const instance = linkWasmModule(be, MODULE);
    // 16-byte aligned for the packed tiles' vector loads; held for the heap's lifetime. A failed
    // malloc (0, or a throw on a full heap) leaves tf.matMul in charge.
    let raw = 0;
    try {
      raw = instance ? be.wasm._malloc(WORKSPACE_BYTES + 16) >>> 0 : 0;
    } catch {
      raw = 0;
    }
    entry = instance && raw !== 0 ? { gemm: instance.exports['gemm'] as GemmFn, workspace: (raw + 15) & ~15 } : null;
    linked.set(memory, entry);
  }
  return entry;
}

let enabled = true;

/**
 * Turns the kernel off (tf.matMul and the XNNPACK paths take over) or back on: for benches that
 * measure both in one run, and tests of the fallback paths.
 */
export function setWasmGemmEnabled(on: boolean): void {
  enabled = on;
}

/** True when the active backend is tfjs-wasm on one thread and the kernel links against its heap. */
export function wasmGemmAvailable(): boolean {
  if (!enabled) return false;
  const be = wasmBackend();
  if (!be) return false;
  let threads = 1;
  try {
    threads = getThreadsCount();
  } catch {
    // Not started through tfjs-backend-wasm's module (no thread count): one thread.
  }
  return threads <= 1 && link(be) !== null;
}

interface GemmAttrs {
  transposeA: boolean;
  transposeB: boolean;
}

function kernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: GemmAttrs }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB } = args.attrs;
  const be = args.backend as WasmBackendLike;
  const [batchA, a1, a2] = a.shape as [number, number, number];
  const [batchB, b1, b2] = b.shape as [number, number, number];
  const [M, K] = transposeA ? [a2, a1] : [a1, a2];
  const N = transposeB ? b1 : b2;
  const batch = Math.max(batchA, batchB);
  const out = be.makeOutput([batch, M, N], 'float32');
  if (batch * M * N === 0) return out;
  // Offsets read after makeOutput: it may have grown the heap (offsets stay, views do not).
  const at = (t: tf.TensorInfo) => heapOffset(be, t);
  const [pa, pb, pc] = [at(a), at(b), at(out)];
  if (K === 0) {
    new Float32Array(heapMemory(be).buffer, pc, batch * M * N).fill(0);
    return out;
  }
  const { gemm, workspace } = link(be)!;
  const [sAi, sAk] = transposeA ? [4, 4 * M] : [4 * K, 4];
  const [sBk, sBj] = transposeB ? [4, 4 * K] : [4 * N, 4];
  const strideA = batchA === 1 ? 0 : 4 * M * K;
  const strideB = batchB === 1 ? 0 : 4 * K * N;
  for (let n = 0; n < batch; n++) {
    gemm(pa + n * strideA, sAi, sAk, pb + n * strideB, sBk, sBj, pc + n * 4 * M * N, 4 * N, M, K, N, workspace, 0);
  }
  return out;
}

/**
 * Which product of causal self-attention with no past (T queries per head, T keys): 'cols', C =
 * [rep·T, T] (scores q·kᵀ, dP = dO·vᵀ), row r needs only columns ≤ r mod T (blocks of columns
 * wholly after a row's position are 0, the rest of a block is computed); 'k',
 * C = [rep·T, D] summing over the T keys (p·v, dS·k), row r only over keys ≤ r mod T; 'kT', C =
 * [T, D] summing over the rep·T query rows (pᵀ·dO, dSᵀ·q), key row s only over queries ≥ s.
 * Rows of head h are h·T … h·T + T − 1.
 */
export type CausalProduct = 'cols' | 'k' | 'kT';

interface CausalAttrs extends GemmAttrs {
  mode: CausalProduct;
  T: number;
  rep: number;
}

/** Positions per block the causal products skip by (a multiple of the 2-row, 16-column tile). */
const CAUSAL_BLOCK = 32;

function causalKernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs: CausalAttrs }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const { transposeA, transposeB, mode, T, rep } = args.attrs;
  const be = args.backend as WasmBackendLike;
  const [batch, a1, a2] = a.shape as [number, number, number];
  const [, b1, b2] = b.shape as [number, number, number];
  const [M, K] = transposeA ? [a2, a1] : [a1, a2];
  const N = transposeB ? b1 : b2;
  const out = be.makeOutput([batch, M, N], 'float32');
  if (batch * M * N === 0) return out;
  const [pa, pb, pc] = [heapOffset(be, a), heapOffset(be, b), heapOffset(be, out)];
  const { gemm, workspace } = link(be)!;
  const [sAi, sAk] = transposeA ? [4, 4 * M] : [4 * K, 4];
  const [sBk, sBj] = transposeB ? [4, 4 * K] : [4 * N, 4];
  const ldc = 4 * N;
  const W = CAUSAL_BLOCK;
  for (let n = 0; n < batch; n++) {
    const [A0, B0, C0] = [pa + n * 4 * M * K, pb + n * 4 * K * N, pc + n * 4 * M * N];
    if (mode === 'cols') {
      // Column block j0 … j0+W−1 is needed by rows at positions ≥ j0 only; the rest stays 0.
      new Float32Array(heapMemory(be).buffer, C0, M * N).fill(0);
      for (let h = 0; h < rep; h++) {
        for (let j0 = 0; j0 < T; j0 += W) {
          const r0 = h * T + j0;
          gemm(A0 + r0 * sAi, sAi, sAk, B0 + j0 * sBj, sBk, sBj, C0 + r0 * ldc + 4 * j0, ldc, T - j0, K, Math.min(W, T - j0), workspace, 0);
        }
      }
    } else if (mode === 'k') {
      for (let h = 0; h < rep; h++) {
        for (let t0 = 0; t0 < T; t0 += W) {
          const rows = Math.min(W, T - t0);
          const r0 = h * T + t0;
          gemm(A0 + r0 * sAi, sAi, sAk, B0, sBk, sBj, C0 + r0 * ldc, ldc, rows, t0 + rows, N, workspace, 0);
        }
      }
    } else {
      for (let s0 = 0; s0 < T; s0 += W) {
        const rows = Math.min(W, T - s0);
        for (let h = 0; h < rep; h++) {
          const k0 = h * T + s0;
          gemm(A0 + s0 * sAi + k0 * sAk, sAi, sAk, B0 + k0 * sBk, sBk, sBj, C0 + s0 * ldc, ldc, rows, T - s0, N, workspace, h > 0 ? 1 : 0);
        }
      }
    }
  }
  return out;
}

let registered = false;

function register(): void {
  if (!registered) {
    registered = true;
    if (!tf.getKernel(GEMM, 'wasm')) tf.registerKernel({ kernelName: GEMM, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    if (!tf.getKernel(CAUSAL_GEMM, 'wasm')) tf.registerKernel({ kernelName: CAUSAL_GEMM, backendName: 'wasm', kernelFunc: causalKernelFunc as unknown as tf.KernelFunc });
  }
}

/**
 * op(a) · op(b) over the last two dims, a [..., M, K] (or [..., K, M] with transposeA) and b
 * [..., K, N] (or [..., N, K] with transposeB), float32, equal leading dims, or one side's
 * leading dims absent or all 1 (broadcast). No gradient of its own: callers wrap it (matmul.ts
 * does). Only call when wasmGemmAvailable().
 */
export function wasmGemm(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  register();
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError('wasmGemm: float32 operands only.');
  if (a.rank < 2 || b.rank < 2) throw new RangeError('wasmGemm: operands of rank 2 or more only.');
  const leadA = a.shape.slice(0, -2);
  const leadB = b.shape.slice(0, -2);
  const count = (s: number[]) => s.reduce((x, y) => x * y, 1);
  const lead = count(leadA) >= count(leadB) ? leadA : leadB;
  const sameLead = leadA.length === leadB.length && leadA.every((d, i) => d === leadB[i]);
  if (!sameLead && count(leadA) > 1 && count(leadB) > 1) {
    throw new RangeError(`wasmGemm: leading dims [${leadA.join(', ')}] and [${leadB.join(', ')}] differ.`);
  }
  const [a1, a2] = a.shape.slice(-2) as [number, number];
  const [b1, b2] = b.shape.slice(-2) as [number, number];
  const [M, K] = transposeA ? [a2, a1] : [a1, a2];
  const [Kb, N] = transposeB ? [b2, b1] : [b1, b2];
  if (K !== Kb) throw new RangeError(`wasmGemm: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not multiply.`);
  return tf.tidy(() => {
    const a3 = tf.reshape(a, [count(leadA), a1, a2]);
    const b3 = tf.reshape(b, [count(leadB), b1, b2]);
    const out = tf.engine().runKernel(GEMM, { a: a3, b: b3 } as unknown as tf.NamedTensorMap, { transposeA, transposeB } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.reshape(out, [...lead, M, N]);
  });
}

/**
 * One of causal self-attention's products with no past (CausalProduct), skipping the blocks the
 * causal mask makes zero: a and b [..., rows, cols] with equal leading dims, as for wasmGemm. Equal
 * to wasmGemm's product wherever the causal mask leaves a probability above 0 ('k' and 'kT' assume
 * the probabilities are exactly 0 where it does not; 'cols' gives there the full value or 0). No
 * gradient of its own. Only call when wasmGemmAvailable().
 */
export function wasmCausalGemm(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean, mode: CausalProduct, T: number, rep: number): tf.Tensor {
  register();
  if (a.dtype !== 'float32' || b.dtype !== 'float32' || a.rank !== b.rank || a.rank < 3 || !a.shape.slice(0, -2).every((d, i) => d === b.shape[i])) {
    throw new RangeError(`wasmCausalGemm: float32 operands with equal leading dims only (got [${a.shape.join(', ')}] and [${b.shape.join(', ')}]).`);
  }
  const [a1, a2] = a.shape.slice(-2) as [number, number];
  const [b1, b2] = b.shape.slice(-2) as [number, number];
  const [M, K] = transposeA ? [a2, a1] : [a1, a2];
  const [Kb, N] = transposeB ? [b2, b1] : [b1, b2];
  const want = { cols: [rep * T, Kb, T], k: [rep * T, T, N], kT: [T, rep * T, N] }[mode];
  if (K !== Kb || M !== want[0] || K !== want[1] || N !== want[2]) {
    throw new RangeError(`wasmCausalGemm: ${mode} with T ${T} and rep ${rep} does not fit [${a.shape.join(', ')}] × [${b.shape.join(', ')}].`);
  }
  const lead = a.shape.slice(0, -2);
  const n = lead.reduce((x, y) => x * y, 1);
  return tf.tidy(() => {
    const out = tf.engine().runKernel(CAUSAL_GEMM, { a: tf.reshape(a, [n, a1, a2]), b: tf.reshape(b, [n, b1, b2]) } as unknown as tf.NamedTensorMap, { transposeA, transposeB, mode, T, rep } as unknown as tf.NamedAttrMap) as tf.Tensor;
    return tf.reshape(out, [...lead, M, N]);
  });
}
