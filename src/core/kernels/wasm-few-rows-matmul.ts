/**
 * Batched products with few rows per batch entry (a decode step's probs·v: 2 query rows against
 * the whole value cache) on tfjs-wasm, with tfjs-wasm's own arithmetic, bit for bit.
 *
 * tfjs-wasm runs any batched product through a scalar loop that sums each output alone in one
 * chain of dependent float adds (about 1 multiply-add per ns here, waiting on add latency). This
 * kernel is a small WebAssembly function, assembled below, on the backend's own memory: it does
 * the very same float32 operations in the same order per output (the shared dimension in blocks
 * of 48, each block summed from 0 in order, then added to the output, then + 0), with 16 outputs'
 * sums in flight at once in f32x4 lanes. WebAssembly's f32x4 add and mul are IEEE float32 per lane
 * and it has no fused multiply-add, so nothing rounds differently. Measured [256, 2, 156] ×
 * [256, 156, 32]: 3.5 ms → 0.4 ms.
 */
import * as tf from '@tensorflow/tfjs-core';

export const FEW_ROWS_MATMUL = 'TabZeroFewRowsMatMul';

/** tfjs-wasm's kBlockSize in its batched product loop. */
const BLOCK = 48;

interface WasmBackendLike {
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  wasm: { asm: { memory: WebAssembly.Memory } };
}

/** Locals of the product's function, after its 7 i32 parameters (a, b, o, N, M, K, P: pointers in bytes and sizes). */
const [A, B, O, N_, M_, K_, P_] = [0, 1, 2, 3, 4, 5, 6];
const [n, i, j, k0, kEnd, k, aRow, bN, oRow, p] = [7, 8, 9, 10, 11, 12, 13, 14, 15, 16];
const [o0, c0, x] = [17, 21, 25];

const get = (l: number) => [0x20, l];
const set = (l: number) => [0x21, l];
const i32 = (v: number) => [0x41, ...sleb(v)];
const add = 0x6a;
const mul = 0x6c;
const simd = (op: number) => [0xfd, ...uleb(op)];
const zero = [...simd(0x0c), ...new Array<number>(16).fill(0)];
const f4add = simd(0xe4);
const f4mul = simd(0xe6);
/** Loop while local `l` < local `limit`: block, loop, exit test. */
const loopWhile = (l: number, limit: number, body: number[]) => [0x02, 0x40, 0x03, 0x40, ...get(l), ...get(limit), 0x4f, 0x0d, 1, ...body, 0x0c, 0, 0x0b, 0x0b];
const incr = (l: number, by: number) => [...get(l), ...i32(by), add, ...set(l)];

function uleb(v: number): number[] {
  const out: number[] = [];
  do {
    let byte = v & 0x7f;
    v >>>= 7;
    if (v) byte |= 0x80;
    out.push(byte);
  } while (v);
  return out;
}

function sleb(v: number): number[] {
  const out: number[] = [];
  for (;;) {
    const byte = v & 0x7f;
    v >>= 7;
    if ((v === 0 && !(byte & 0x40)) || (v === -1 && byte & 0x40)) return [...out, byte];
    out.push(byte | 0x80);
  }
}

/**
 * out[n] = a[n] · b[n], a [N, M, K], b [N, K, P] with P a multiple of 16: each output row's 16
 * columns at a time in four f32x4 sums, the shared dimension in blocks of BLOCK (each summed from
 * 0 in order, then added to the output and + 0), as tfjs-wasm's loop does each output alone.
 */
function productBody(): number[] {
  const vecs = (f: (q: number) => number[]) => [0, 1, 2, 3].flatMap(f);
  const kLoop = [
    ...get(aRow), ...get(k), ...i32(2), 0x74, add, 0x2a, 2, 0, ...simd(0x13), ...set(x),
    ...get(k), ...get(P_), mul, ...get(j), add, ...i32(2), 0x74, ...get(bN), add, ...set(p),
    ...vecs((q) => [...get(c0 + q), ...get(x), ...get(p), ...simd(0x00), 0, ...uleb(16 * q), ...f4mul, ...f4add, ...set(c0 + q)]),
    ...incr(k, 1),
  ];
  const k0Loop = [
    ...get(k0), ...i32(BLOCK), add, ...get(K_), ...get(k0), ...i32(BLOCK), add, ...get(K_), 0x48, 0x1b, ...set(kEnd),
    ...vecs((q) => [...zero, ...set(c0 + q)]),
    ...get(k0), ...set(k),
    ...loopWhile(k, kEnd, kLoop),
    ...vecs((q) => [...get(o0 + q), ...get(c0 + q), ...f4add, ...zero, ...f4add, ...set(o0 + q)]),
    ...incr(k0, BLOCK),
  ];
  const jLoop = [
    ...vecs((q) => [...zero, ...set(o0 + q)]),
    ...i32(0), ...set(k0),
    ...loopWhile(k0, K_, k0Loop),
    ...vecs((q) => [...get(oRow), ...get(j), ...i32(2), 0x74, add, ...get(o0 + q), ...simd(0x0b), 0, ...uleb(16 * q)]),
    ...incr(j, 16),
  ];
  const iLoop = [
    ...get(n), ...get(M_), mul, ...get(i), add, 0x22, p, ...get(K_), mul, ...i32(2), 0x74, ...get(A), add, ...set(aRow),
    ...get(p), ...get(P_), mul, ...i32(2), 0x74, ...get(O), add, ...set(oRow),
    ...get(n), ...get(K_), mul, ...get(P_), mul, ...i32(2), 0x74, ...get(B), add, ...set(bN),
    ...i32(0), ...set(j),
    ...loopWhile(j, P_, jLoop),
    ...incr(i, 1),
  ];
  const nLoop = [...i32(0), ...set(i), ...loopWhile(i, M_, iLoop), ...incr(n, 1)];
  return [...i32(0), ...set(n), ...loopWhile(n, N_, nLoop), 0x0b];
}

function moduleBytes(): Uint8Array<ArrayBuffer> {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const name = (s: string) => [s.length, ...[...s].map((ch) => ch.charCodeAt(0))];
  const body = [2, 10, 0x7f, 9, 0x7b, ...productBody()];
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, [1, 0x60, 7, ...new Array<number>(7).fill(0x7f), 0]),
    ...section(2, [1, ...name('e'), ...name('m'), 0x02, 0x00, 1]),
    ...section(3, [1, 0]),
    ...section(7, [1, ...name('f'), 0x00, 0]),
    ...section(10, [1, ...uleb(body.length), ...body]),
  ]);
}

type ProductFn = (a: number, b: number, o: number, N: number, M: number, K: number, P: number) => void;
const instances = new WeakMap<WebAssembly.Memory, ProductFn>();

function productFor(memory: WebAssembly.Memory): ProductFn {
  let f = instances.get(memory);
  if (!f) {
    const instance = new WebAssembly.Instance(new WebAssembly.Module(moduleBytes()), { e: { m: memory } });
    f = instance.exports['f'] as ProductFn;
    instances.set(memory, f);
  }
  return f;
}

function kernelFunc(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { a, b } = args.inputs as { a: tf.TensorInfo; b: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const [N, M, K] = a.shape as [number, number, number];
  const P = b.shape[2]!;
  const out = be.makeOutput([N, M, P], 'float32');
  if (N * M * P === 0) return out;
  // Pointers taken after makeOutput, which may have grown (and moved the views of) the heap.
  const ptr = (t: tf.TensorInfo) => be.typedArrayFromHeap(t).byteOffset;
  productFor(be.wasm.asm.memory)(ptr(a), ptr(b), ptr(out), N, M, K, P);
  return out;
}

let registered = false;

/** True when the active backend is tfjs-wasm with the heap views this kernel reads. */
export function wasmFewRowsMatMulAvailable(): boolean {
  if (tf.getBackend() !== 'wasm') return false;
  const be = tf.backend() as Partial<WasmBackendLike>;
  if (typeof be.makeOutput !== 'function' || typeof be.typedArrayFromHeap !== 'function' || !(be.wasm?.asm?.memory instanceof WebAssembly.Memory)) return false;
  // The module declares an unshared memory: the threaded build's shared heap would not link.
  if (typeof SharedArrayBuffer !== 'undefined' && be.wasm.asm.memory.buffer instanceof SharedArrayBuffer) return false;
  return linkable(be.wasm.asm.memory);
}

/** Whether the module links against this heap (once per heap); a failure leaves tf.matMul in charge. */
function linkable(memory: WebAssembly.Memory): boolean {
  if (unlinkable.has(memory)) return false;
  try {
    productFor(memory);
    return true;
  } catch {
    unlinkable.add(memory);
    return false;
  }
}
const unlinkable = new WeakSet<WebAssembly.Memory>();

/**
 * a [N, M, K] × b [N, K, P], float32, equal to tf.matMul's result on tfjs-wasm bit for bit. No
 * gradient of its own: callers wrap it. Only call when wasmFewRowsMatMulAvailable() and P is a
 * multiple of 16.
 */
export function wasmFewRowsMatMul(a: tf.Tensor3D, b: tf.Tensor3D): tf.Tensor3D {
  if (!registered) {
    registered = true;
    if (!tf.getKernel(FEW_ROWS_MATMUL, 'wasm')) tf.registerKernel({ kernelName: FEW_ROWS_MATMUL, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  }
  if (a.dtype !== 'float32' || b.dtype !== 'float32') throw new TypeError('wasmFewRowsMatMul: float32 operands only.');
  if (a.shape[0] !== b.shape[0] || a.shape[2] !== b.shape[1] || b.shape[2] % 16 !== 0) {
    throw new RangeError(`wasmFewRowsMatMul: shapes [${a.shape.join(', ')}] and [${b.shape.join(', ')}] do not multiply.`);
  }
  return tf.engine().runKernel(FEW_ROWS_MATMUL, { a, b } as unknown as tf.NamedTensorMap, {}) as tf.Tensor3D;
}
