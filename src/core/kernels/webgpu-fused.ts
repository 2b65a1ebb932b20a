/**
 * Fused WebGPU kernels for the decoder's elementwise chains, to cut dispatches per token (each
 * costs ~10 µs of fixed overhead on a real GPU before any arithmetic):
 *   RMSNorm       square, mean, add, rsqrt, mul, mul      → 1 dispatch
 *   RoPE + heads  transpose, slice ×2, neg, concat, mul ×2, add → 1 dispatch (per q or k)
 *   SwiGLU        sigmoid, mul, mul                         → 1 dispatch
 * Forward passes only run the fused programs; gradients are built from ordinary tf ops on the
 * saved inputs (the backward pass is not per token). Other backends take the same ops unfused.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ropeHeadsGrad } from './webgpu-rope-grad';
import { WG, webgpuKernelRegistrar, webgpuProgram, type Program, type WebGPUBackendLike } from './webgpu-program';

const RMSNORM = 'TabZeroRmsNorm';
const ROPE_HEADS = 'TabZeroRopeHeads';
const SWIGLU = 'TabZeroSwiGLU';

function flatProgram(outputShape: number[], threads: number, key: string, names: string[], uniforms: string, code: string): Program {
  return webgpuProgram(outputShape, Math.ceil(threads / WG), key, names, uniforms, code);
}

/** x [R, H] · rsqrt(mean(x², -1) + eps) · w: one thread per row. */
function rmsNormKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { x, w } = args.inputs as { x: tf.TensorInfo; w: tf.TensorInfo };
  const eps = args.attrs!['eps'] as number;
  const [R, H] = x.shape as [number, number];
  const code = `
    fn main(index : i32) {
      if (index >= uniforms.rows) { return; }
      var ss = 0.0;
      for (var c = 0; c < ${H}; c++) { let v = getX(index, c); ss = ss + v * v; }
      let r = inverseSqrt(ss / f32(${H}) + uniforms.eps);
      for (var c = 0; c < ${H}; c++) { setOutputAtIndex(index * ${H} + c, getX(index, c) * r * getW(c)); }
    }`;
  const program = flatProgram([R, H], R, `tabzero_rmsnorm_${H}`, ['x', 'w'], 'eps : f32, rows : i32,', code);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(program, [x, w], 'float32', [
    { type: 'float32', data: [eps] },
    { type: 'int32', data: [R] },
  ]);
}

/**
 * p [B·T, heads·D] (a projection's output) → [B, heads, T, D] with HF's rotate-half RoPE:
 * out[b,h,t,d] = p·cos + rotate_half(p)·sin, cos and sin [B·T, D].
 */
function ropeHeadsKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown; attrs?: tf.NamedAttrMap }): tf.TensorInfo {
  const { p, cos, sin } = args.inputs as { p: tf.TensorInfo; cos: tf.TensorInfo; sin: tf.TensorInfo };
  const B = args.attrs!['batch'] as number;
  const T = args.attrs!['length'] as number;
  const heads = args.attrs!['heads'] as number;
  const D = cos.shape[1]!;
  const half = D / 2;
  const n = B * heads * T * D;
  const code = `
    fn main(index : i32) {
      if (index >= uniforms.total) { return; }
      let d = index % ${D};
      let t = (index / ${D}) % ${T};
      let h = (index / ${D * T}) % ${heads};
      let b = index / ${D * T * heads};
      let row = b * ${T} + t;
      let col = h * ${D};
      var rot = 0.0;
      if (d < ${half}) { rot = -getP(row, col + d + ${half}); } else { rot = getP(row, col + d - ${half}); }
      setOutputAtIndex(index, getP(row, col + d) * getCos(row, d) + rot * getSin(row, d));
    }`;
  const program = flatProgram([B, heads, T, D], n, `tabzero_rope_${D}_${T}_${heads}`, ['p', 'cos', 'sin'], 'total : i32,', code);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(program, [p, cos, sin], 'float32', [{ type: 'int32', data: [n] }]);
}

/** silu(g) · u, elementwise. */
function swigluKernel(args: { inputs: tf.NamedTensorInfoMap; backend: unknown }): tf.TensorInfo {
  const { g, u } = args.inputs as { g: tf.TensorInfo; u: tf.TensorInfo };
  const n = g.shape.reduce((a, b) => a * b, 1);
  const code = `
    fn main(index : i32) {
      if (index >= uniforms.total) { return; }
      let a = getGByOutputIndex(index);
      setOutputAtIndex(index, a / (1.0 + exp(-a)) * getUByOutputIndex(index));
    }`;
  const program = flatProgram(g.shape, n, 'tabzero_swiglu', ['g', 'u'], 'total : i32,', code);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(program, [g, u], 'float32', [{ type: 'int32', data: [n] }]);
}

const register = webgpuKernelRegistrar([
  [RMSNORM, rmsNormKernel],
  [ROPE_HEADS, ropeHeadsKernel],
  [SWIGLU, swigluKernel],
]);

export function webgpuFusedAvailable(): boolean {
  return tf.getBackend() === 'webgpu';
}

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor {
  register();
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/** RMSNorm over the last axis, fused on webgpu; the same arithmetic as layers.rmsNorm. */
export function fusedRmsNorm(x: tf.Tensor, w: tf.Tensor1D, eps: number): tf.Tensor {
  const shape = x.shape;
  const H = shape[shape.length - 1]!;
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const xi = args[0] as tf.Tensor;
    const wi = args[1] as tf.Tensor;
    const save = args[2] as tf.GradSaveFunc;
    save([xi, wi]);
    const x2 = tf.reshape(xi, [-1, H]);
    return {
      value: tf.reshape(run(RMSNORM, { x: x2, w: wi }, { eps }), shape),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
        // y = x·r·w, r = (mean(x²) + eps)^-½: dx = r·(dy·w) − x·r³·mean(dy·w·x), dw = Σ dy·x·r.
        const r = tf.rsqrt(tf.add(tf.mean(tf.square(sx), -1, true), eps));
        const gw = tf.mul(dy, sw);
        const dx = tf.sub(tf.mul(gw, r), tf.mul(tf.mul(sx, tf.pow(r, 3)), tf.mean(tf.mul(gw, sx), -1, true)));
        const dw = tf.sum(tf.reshape(tf.mul(tf.mul(dy, sx), r), [-1, H]), 0);
        return [dx, dw];
      },
    };
  });
  return f(x, w);
}

/**
 * A projection's output p [B, T, heads·D] split into heads [B, heads, T, D] with RoPE applied,
 * fused on webgpu. cos, sin [B, 1, T, D] as layers.ropeTables gives them.
 */
export function fusedRopeHeads(p: tf.Tensor, cos: tf.Tensor4D, sin: tf.Tensor4D, B: number, T: number, heads: number, D: number): tf.Tensor4D {
  const c2 = tf.reshape(cos, [B * T, D]);
  const s2 = tf.reshape(sin, [B * T, D]);
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const pi = args[0] as tf.Tensor;
    const save = args[1] as tf.GradSaveFunc;
    // The tables belong to the caller's tidy: saving them keeps them alive until the backward pass.
    save([cos, sin]);
    return {
      value: run(ROPE_HEADS, { p: tf.reshape(pi, [B * T, heads * D]), cos: c2, sin: s2 }, { batch: B, length: T, heads }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [cos, sin] = saved as [tf.Tensor4D, tf.Tensor4D];
        if (tf.getBackend() === 'webgpu') return tf.reshape(ropeHeadsGrad(dy, tf.reshape(cos, [B * T, D]), tf.reshape(sin, [B * T, D])), pi.shape);
        // sin repeats across the two halves, so rotate_half commutes with it: the adjoint of
        // x·cos + rot(x)·sin is dy·cos − rot(dy)·sin, i.e. RoPE with −sin.
        const half = D / 2;
        const s4 = tf.neg(sin);
        const d1 = tf.slice(dy, [0, 0, 0, 0], [-1, -1, -1, half]);
        const d2 = tf.slice(dy, [0, 0, 0, half], [-1, -1, -1, half]);
        const back = tf.add(tf.mul(dy, cos), tf.mul(tf.concat([tf.neg(d2), d1], 3), s4));
        return tf.reshape(tf.transpose(back, [0, 2, 1, 3]), pi.shape);
      },
    };
  });
  return f(p) as tf.Tensor4D;
}

/** silu(gate) · up, fused on webgpu. */
export function fusedSwiGLU(gate: tf.Tensor, up: tf.Tensor): tf.Tensor {
  const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
    const g = args[0] as tf.Tensor;
    const u = args[1] as tf.Tensor;
    const save = args[2] as tf.GradSaveFunc;
    save([g, u]);
    return {
      value: run(SWIGLU, { g, u }),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const [sg, su] = saved as [tf.Tensor, tf.Tensor];
        const s = tf.sigmoid(sg);
        const silu = tf.mul(sg, s);
        // d silu/dg = s·(1 + g·(1 − s)).
        const dsilu = tf.mul(s, tf.add(1, tf.mul(sg, tf.sub(1, s))));
        return [tf.mul(tf.mul(dy, su), dsilu), tf.mul(dy, silu)];
      },
    };
  });
  return f(gate, up);
}
