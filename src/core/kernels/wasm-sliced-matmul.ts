/**
 * Batched matrix products on tfjs-wasm at the speed of its 2-D ones.
 *
 * tfjs-wasm hands a product to XNNPACK only when both operands have batch 1 and neither is
 * transposed; any batched product (attention's [B·H, T, D] × [B·H, D, S]) runs a scalar loop at
 * about a tenth of the speed. This kernel keeps the batch contiguous in the wasm heap and calls
 * the backend's own BatchMatMul once per batch entry on tensor ids that alias slices of the
 * operands and of the output: no copies, and every slice takes the XNNPACK path.
 *
 * It leans on the wasm backend's internals (dataIdMap, registerTensor, the BatchMatMul export),
 * which tfjs 4.x has kept stable; `wasmSlicedMatMulAvailable` checks them before use, and any
 * backend without them falls back to tf.matMul.
 */
import * as tf from '@tensorflow/tfjs-core';

export const SLICED_MATMUL = 'TabZeroSlicedMatMul';

interface WasmTensorData {
  id: number;
  memoryOffset: number;
}

interface WasmModule {
  cwrap(name: string, ret: null, args: string[]): (...a: unknown[]) => void;
  tfjs: { registerTensor(id: number, size: number, offset: number): void; disposeData(id: number): void };
}

interface WasmBackendInternals {
  wasm: WasmModule;
  dataIdMap: { get(dataId: object): WasmTensorData | undefined };
  dataIdNextNumber: number;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type MatMulFn = (aId: number, aShape: Uint8Array, aRank: number, bId: number, bShape: Uint8Array, bRank: number, ta: number, tb: number, outId: number) => void;

const wrapped = new WeakMap<object, MatMulFn>();

function internals(backend: unknown): WasmBackendInternals | null {
  const b = backend as Partial<WasmBackendInternals> | null;
  if (!b || typeof b.makeOutput !== 'function' || !b.dataIdMap || typeof b.dataIdNextNumber !== 'number') return null;
  const w = b.wasm as Partial<WasmModule> | undefined;
  if (!w || typeof w.cwrap !== 'function' || !w.tfjs || typeof w.tfjs.registerTensor !== 'function' || typeof w.tfjs.disposeData !== 'function') return null;
  return b as WasmBackendInternals;
}

function matMulOf(b: WasmBackendInternals): MatMulFn {
  let f = wrapped.get(b);
  if (!f) {
    f = b.wasm.cwrap('BatchMatMul', null, ['number', 'array', 'number', 'number', 'array', 'number', 'number', 'number', 'number']) as MatMulFn;
    wrapped.set(b, f);
  }
  return f;
}

function shapeBytes(shape: number[]): Uint8Array {
  return new Uint8Array(new Int32Array(shape).buffer);
}

/** a [N, M, K] × b [N, K, P] → [N, M, P], float32, one XNNPACK product per n. */
function slicedMatMul(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const be = internals(args.backend)!;
  const [N, M, K] = a.shape as [number, number, number];
  const P = b.shape[2]!;
  const out = be.makeOutput([N, M, P], 'float32');
  if (N * M * P === 0) return out;
  const aData = be.dataIdMap.get(a.dataId)!;
  const bData = be.dataIdMap.get(b.dataId)!;
  const oData = be.dataIdMap.get(out.dataId)!;
  const mm = matMulOf(be);
  const { registerTensor, disposeData } = be.wasm.tfjs;
  const aShape = shapeBytes([1, M, K]);
  const bShape = shapeBytes([1, K, P]);
  for (let n = 0; n < N; n++) {
    // Fresh ids each time: XNNPACK's packed-weights cache is keyed by b's id and dropped on dispose.
    const ai = be.dataIdNextNumber++;
    const bi = be.dataIdNextNumber++;
    const oi = be.dataIdNextNumber++;
    registerTensor(ai, M * K, aData.memoryOffset + 4 * n * M * K);
    registerTensor(bi, K * P, bData.memoryOffset + 4 * n * K * P);
    registerTensor(oi, M * P, oData.memoryOffset + 4 * n * M * P);
    mm(ai, aShape, 3, bi, bShape, 3, 0, 0, oi);
    // The C side forgets the ids (and b's packed weights); the heap memory stays with its owners.
    disposeData(ai);
    disposeData(bi);
    disposeData(oi);
  }
  return out;
}

let registered = false;

function register(): void {
  if (registered) return;
  registered = true;
  if (!tf.getKernel(SLICED_MATMUL, 'wasm')) {
    tf.registerKernel({ kernelName: SLICED_MATMUL, backendName: 'wasm', kernelFunc: slicedMatMul as unknown as tf.KernelFunc });
  }
}

/** True when the active backend is tfjs-wasm with the internals this kernel needs. */
export function wasmSlicedMatMulAvailable(): boolean {
  return tf.getBackend() === 'wasm' && internals(tf.backend()) !== null;
}

/**
 * a [N, M, K] × b [N, K, P] with N products as 2-D XNNPACK calls. No gradient of its own: callers
 * wrap it (matMulPlain does). Only call when wasmSlicedMatMulAvailable().
 */
export function wasmSlicedMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  register();
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError('wasmSlicedMatMul: float32 operands only.');
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1]) {
    throw new RangeError(`wasmSlicedMatMul: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not multiply.`);
  }
  return tf.engine().runKernel(SLICED_MATMUL, { a, b } as unknown as tf.NamedTensorMap, {}) as tf.Tensor3D;
}
