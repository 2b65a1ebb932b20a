/**
 * Float32 matrix products on tfjs-wasm through this project's own WebAssembly kernel
 * (wasm-gemm.wat): 2-D and batched, either operand transposed, read in place from the backend's
 * heap. At the shapes a training step runs it is ~1.5× XNNPACK's 2-D products on V8, and it needs
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

/** wasm-gemm.wat's workspace: packed A, packed B, one edge tile. */
const WORKSPACE_BYTES = 131072 + 524288 + 128;

type GemmFn = (A: number, sAi: number, sAk: number, B: number, sBk: number, sBj: number, C: number, ldc: number, M: number, K: number, N: number, ws: number) => void;

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
    gemm(pa + n * strideA, sAi, sAk, pb + n * strideB, sBk, sBj, pc + n * 4 * M * N, 4 * N, M, K, N, workspace);
  }
  return out;
}

let registered = false;

/**
 * op(a) · op(b) over the last two dims, a [..., M, K] (or [..., K, M] with transposeA) and b
 * [..., K, N] (or [..., N, K] with transposeB), float32, equal leading dims, or one side's
 * leading dims absent or all 1 (broadcast). No gradient of its own: callers wrap it (matmul.ts does). Only call when
 * wasmGemmAvailable().
 */
export function wasmGemm(a: tf.Tensor, b: tf.Tensor, transposeA = false, transposeB = false): tf.Tensor {
  if (!registered) {
    registered = true;
    if (!tf.getKernel(GEMM, 'wasm')) tf.registerKernel({ kernelName: GEMM, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
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
