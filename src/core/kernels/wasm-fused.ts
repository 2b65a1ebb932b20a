/**
 * The Llama layer's elementwise chains on tfjs-wasm as single passes (wasm-fused.wat): SwiGLU
 * and RMSNorm with their gradients, softmax's gradient, the embedding's row gather, and the
 * log-prob head (wasmTokenStats: two passes a row, its exp a polynomial within ~2 ulp). tfjs-wasm
 * runs each chain as 3–9 kernels that each read and write the whole tensor (the SwiGLU backward
 * alone: sigmoid, five multiplies, a subtraction, an addition over [rows, intermediate]).
 *
 * SwiGLU's chains take the sigmoid from tfjs-wasm's own kernel and then do the tf-op chains'
 * float operations in their order: equal bit for bit. RMSNorm's and softmax's row sums run 4 lanes
 * at a time: equal within float rounding.
 */
import * as tf from '@tensorflow/tfjs-core';
import { MODULE } from './wasm-fused-module';
import { heapMemory, heapOffset, linkWasmModule, wasmBackend, type WasmBackendLike } from './wasm-module-link';

const SWIGLU = 'TabZeroWasmSwiGLU';
const SWIGLU_GRAD = 'TabZeroWasmSwiGLUGrad';
const RMSNORM = 'TabZeroWasmRmsNorm';
const RMSNORM_GRAD = 'TabZeroWasmRmsNormGrad';
const SOFTMAX_GRAD = 'TabZeroWasmSoftmaxGrad';
const GATHER_ROWS = 'TabZeroWasmGatherRows';
const HEAD_STATS = 'TabZeroWasmHeadStats';
const HEAD_GRAD = 'TabZeroWasmHeadGrad';

type Fn = (...args: number[]) => void;

function exportsOf(be: WasmBackendLike): Record<string, Fn> {
  return linkWasmModule(be, MODULE)!.exports as unknown as Record<string, Fn>;
}

type KernelArgs = { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap };

const size = (t: tf.TensorInfo) => t.shape.reduce((a, b) => a * b, 1);

function swiglu(args: KernelArgs): tf.TensorInfo {
  const { g, s, u } = args.inputs as { g: tf.TensorInfo; s: tf.TensorInfo; u: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const out = be.makeOutput(g.shape, 'float32');
  exportsOf(be)['swiglu']!(heapOffset(be, g), heapOffset(be, s), heapOffset(be, u), heapOffset(be, out), size(g));
  return out;
}

function swigluGrad(args: KernelArgs): tf.TensorInfo[] {
  const { g, s, u, dy } = args.inputs as { g: tf.TensorInfo; s: tf.TensorInfo; u: tf.TensorInfo; dy: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const dg = be.makeOutput(g.shape, 'float32');
  const du = be.makeOutput(g.shape, 'float32');
  exportsOf(be)['swigluGrad']!(heapOffset(be, g), heapOffset(be, s), heapOffset(be, u), heapOffset(be, dy), heapOffset(be, dg), heapOffset(be, du), size(g));
  return [dg, du];
}

function rmsNorm(args: KernelArgs): tf.TensorInfo {
  const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const H = w.shape[0]!;
  const out = be.makeOutput(x.shape, 'float32');
  exportsOf(be)['rmsNorm']!(heapOffset(be, x), heapOffset(be, w), heapOffset(be, out), size(x) / H, H, args.attrs!['eps'] as number);
  return out;
}

function rmsNormGrad(args: KernelArgs): tf.TensorInfo[] {
  const { x, w, dy } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo; dy: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const H = w.shape[0]!;
  const dx = be.makeOutput(x.shape, 'float32');
  const dw = be.makeOutput([H], 'float32');
  exportsOf(be)['rmsNormGrad']!(heapOffset(be, x), heapOffset(be, w), heapOffset(be, dy), heapOffset(be, dx), heapOffset(be, dw), size(x) / H, H, args.attrs!['eps'] as number);
  return [dx, dw];
}

function softmaxGrad(args: KernelArgs): tf.TensorInfo {
  const { p, dp } = args.inputs as { p: tf.TensorInfo; dp: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const S = p.shape[p.shape.length - 1]!;
  const out = be.makeOutput(p.shape, 'float32');
  if (S > 0) exportsOf(be)['softmaxGrad']!(heapOffset(be, p), heapOffset(be, dp), heapOffset(be, out), size(p) / S, S);
  return out;
}

function gatherRows(args: KernelArgs): tf.TensorInfo {
  const { table, ids } = args.inputs as { table: tf.TensorInfo; ids: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const [V, H] = table.shape as [number, number];
  const n = ids.shape[0]!;
  const out = be.makeOutput([n, H], 'float32');
  exportsOf(be)['gatherRows']!(heapOffset(be, table), heapOffset(be, ids), heapOffset(be, out), n, H, V);
  return out;
}

function headStats(args: KernelArgs): tf.TensorInfo {
  const { x, targets } = args.inputs as { x: tf.TensorInfo; targets: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const [N, V] = x.shape as [number, number];
  const out = be.makeOutput([N, 3], 'float32');
  if (N > 0) exportsOf(be)['headStats']!(heapOffset(be, x), heapOffset(be, targets), heapOffset(be, out), N, V, args.attrs!['invT'] as number);
  return out;
}

function headGrad(args: KernelArgs): tf.TensorInfo {
  const { x, targets, stats, dy } = args.inputs as { x: tf.TensorInfo; targets: tf.TensorInfo; stats: tf.TensorInfo; dy: tf.TensorInfo };
  const be = args.backend as WasmBackendLike;
  const [N, V] = x.shape as [number, number];
  const out = be.makeOutput([N, V], 'float32');
  if (N > 0) exportsOf(be)['headGrad']!(heapOffset(be, x), heapOffset(be, targets), heapOffset(be, stats), heapOffset(be, dy), heapOffset(be, out), N, V, args.attrs!['invT'] as number);
  return out;
}

let registered = false;

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor | tf.Tensor[] {
  if (!registered) {
    registered = true;
    for (const [kernelName, kernelFunc] of [[SWIGLU, swiglu], [SWIGLU_GRAD, swigluGrad], [RMSNORM, rmsNorm], [RMSNORM_GRAD, rmsNormGrad], [SOFTMAX_GRAD, softmaxGrad], [GATHER_ROWS, gatherRows], [HEAD_STATS, headStats], [HEAD_GRAD, headGrad]] as const) {
      if (!tf.getKernel(kernelName, 'wasm')) tf.registerKernel({ kernelName, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
    }
  }
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap);
}

let enabled = true;

/** Turns the fused chains off (tf ops take over) or back on: for benches measuring both in one run and tests. */
export function setWasmFusedEnabled(on: boolean): void {
  enabled = on;
}

/** True on tfjs-wasm when the module links against its heap. */
export function wasmFusedAvailable(): boolean {
  if (!enabled) return false;
  const be = wasmBackend();
  return be !== null && linkWasmModule(be, MODULE) !== null;
}

const float32 = (...ts: tf.Tensor[]) => ts.every((t) => t.dtype === 'float32');

/** silu(g)·u's gradients: [d g, d u]. No gradient of its own. */
export function wasmSwiGLUGrad(g: tf.Tensor, u: tf.Tensor, dy: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const s = tf.sigmoid(g);
  const [dg, du] = run(SWIGLU_GRAD, { g, s, u, dy }) as tf.Tensor[];
  s.dispose();
  return [dg!, du!];
}

/** silu(g)·u elementwise, g and u of one shape, with its gradient. */
export function wasmSwiGLU(g: tf.Tensor, u: tf.Tensor): tf.Tensor {
  if (!float32(g, u) || !tf.util.arraysEqual(g.shape, u.shape)) throw new RangeError('wasmSwiGLU: float32 operands of one shape only.');
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [gi, ui] = args as [tf.Tensor, tf.Tensor];
    (args[2] as tf.GradSaveFunc)([gi, ui]);
    return {
      value: tf.tidy(() => run(SWIGLU, { g: gi, s: tf.sigmoid(gi), u: ui }) as tf.Tensor),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => wasmSwiGLUGrad(saved[0]!, saved[1]!, dy),
    };
  });
  return f(g, u);
}

/** RMSNorm's gradients over the last axis: [dx, dw]. No gradient of its own. */
export function wasmRmsNormGrad(x: tf.Tensor, w: tf.Tensor, eps: number, dy: tf.Tensor): [tf.Tensor, tf.Tensor] {
  const [dx, dw] = run(RMSNORM_GRAD, { x, w, dy }, { eps }) as tf.Tensor[];
  return [dx!, dw!];
}

/** x · rsqrt(mean(x², -1) + eps) · w, with its gradient. */
export function wasmRmsNorm(x: tf.Tensor, w: tf.Tensor1D, eps: number): tf.Tensor {
  if (!float32(x, w) || x.shape[x.rank - 1] !== w.shape[0]) throw new RangeError('wasmRmsNorm: float32 x [..., H] and w [H] only.');
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const [xi, wi] = args as [tf.Tensor, tf.Tensor];
    (args[2] as tf.GradSaveFunc)([xi, wi]);
    return {
      value: run(RMSNORM, { x: xi, w: wi }, { eps }) as tf.Tensor,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => wasmRmsNormGrad(saved[0]!, saved[1]!, eps, dy),
    };
  });
  return f(x, w);
}

/** p ⊙ (dp − rowsum(dp ⊙ p)) over the last axis: softmax's input gradient from its output p. */
export function wasmSoftmaxGrad(p: tf.Tensor, dp: tf.Tensor): tf.Tensor {
  return run(SOFTMAX_GRAD, { p, dp }) as tf.Tensor;
}

/** table[ids] by rows (ids outside the table give zero rows). No gradient of its own. */
export function wasmGatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  return run(GATHER_ROWS, { table, ids: ids.dtype === 'int32' ? ids : tf.cast(ids, 'int32') }) as tf.Tensor2D;
}

/**
 * logits [N, V], targets [N] (int32) → [N, 2]: each row's target log-prob under
 * softmax(logits / temperature) and that distribution's entropy, differentiable w.r.t. the logits
 * (vocab-chunked-logprobs.ts's chunkedTokenStats, as two passes over each row here). The tape
 * keeps the logits and three numbers a row.
 */
export function wasmTokenStats(logits: tf.Tensor2D, targets: tf.Tensor1D, temperature = 1): tf.Tensor2D {
  const [N] = logits.shape;
  if (targets.shape[0] !== N || targets.dtype !== 'int32' || logits.dtype !== 'float32') throw new RangeError(`wasmTokenStats: float32 logits [N, V] and N int32 targets (got ${N} rows, ${targets.shape[0]} ${targets.dtype} targets).`);
  const invT = 1 / temperature;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const lg = args[0] as tf.Tensor2D;
    const stats = run(HEAD_STATS, { x: lg, targets }, { invT }) as tf.Tensor2D;
    (args[1] as tf.GradSaveFunc)([lg, targets, stats]);
    const out = tf.slice(stats, [0, 0], [N, 2]);
    stats.dispose();
    return {
      value: out,
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => run(HEAD_GRAD, { x: saved[0]!, targets: saved[1]!, stats: saved[2]!, dy }, { invT }) as tf.Tensor,
    };
  });
  return f(logits) as tf.Tensor2D;
}
