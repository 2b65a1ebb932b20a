/**
 * Forward-only WebGPU kernels for decoding (no gradient is taken through a decode step), to cut
 * dispatches per token:
 *   attention     [q projection, RoPE,] scale, q·kᵀ, + mask, softmax, ·v  → 1, a workgroup per query row
 *   cache append  [projection,] RoPE-into-heads (or transpose), concat   → 1, per k or v
 *   gate/up       two projections + SwiGLU                               → 1
 *   residual      projection + add                                       → 1 (tfjs's fused matmul)
 * Callers take these only on webgpu with no gradient tape recording (decodeKernelsUsable); every
 * other forward runs the differentiable ops.
 */
import * as tf from '@tensorflow/tfjs-core';
import { WG, webgpuKernelRegistrar, webgpuProgram, type KernelArgs, type WebGPUBackendLike } from './webgpu-program';

export const DECODE_ATTENTION = 'TabZeroDecodeAttention';
export const APPEND_HEADS = 'TabZeroAppendHeads';
export const GATED_PROJECTION = 'TabZeroGatedProjection';

/**
 * Rows of the attention kernel at most: it reads workgroupId.x as its row, and tfjs folds a
 * dispatch over WebGPU's 65535 workgroups per dimension into y (flat kernels' index follows).
 */
const MAX_ROWS = 65535;

/**
 * q [B, H, T, D] against k, v [B, Hkv, S, D] with an additive mask [B, T, S] (query head h reads
 * key head h / (H / Hkv), HF's repeat_kv): softmax(q·kᵀ/√D + mask)·v, [B, H, T, D]. One workgroup
 * per (b, h, t) row keeps a running max and sum over tiles of 64 keys (online softmax), so S is a
 * uniform and one compiled shader serves every step of a decode.
 */
function decodeAttentionKernel(args: KernelArgs): tf.TensorInfo {
  const { q, x, w, cos, sin, k, v, mask } = args.inputs as Partial<Record<string, tf.TensorInfo>> & { k: tf.TensorInfo; v: tf.TensorInfo; mask: tf.TensorInfo };
  const project = Boolean(w);
  const Hkv = k.shape[1]!;
  const S = k.shape[2]!;
  const D = k.shape[3]!;
  const B = k.shape[0]!;
  const H = project ? (args.attrs!['heads'] as number) : q!.shape[1]!;
  const T = project ? x!.shape[0]! / B : q!.shape[2]!;
  const K = project ? x!.shape[1]! : 0;
  const N = H * D;
  const inOut = Boolean(args.attrs?.['inOut']);
  const rep = H / Hkv;
  const half = D / 2;
  const nAcc = Math.ceil(D / WG);
  // Each workgroup's query row, scaled: read as given, or projected from x and RoPE'd here.
  const loadQ = project
    ? `let xrow = b * ${T} + t;
      for (var d = tid; d < ${D}; d = d + ${WG}) {
        let col = h * ${D} + d;
        var rot = 0.0;
        if (d < ${half}) { rot = -qproj(xrow, col + ${half}); } else { rot = qproj(xrow, col - ${half}); }
        qs[d] = (qproj(xrow, col) * cs[xrow * ${D} + d] + rot * sn[xrow * ${D} + d]) * uniforms.scale;
      }`
    : `for (var d = tid; d < ${D}; d = d + ${WG}) { qs[d] = qh[row * ${D} + d] * uniforms.scale; }`;
  const qproj = project
    ? `fn qproj(r : i32, col : i32) -> f32 {
      var acc = 0.0;
      for (var c = 0; c < ${K}; c = c + 1) { acc = acc + xr[r * ${K} + c] * ${inOut ? `wt[c * ${N} + col]` : `wt[col * ${K} + c]`}; }
      return acc;
    }`
    : '';
  const code = `
    var<workgroup> qs : array<f32, ${D}>;
    var<workgroup> ps : array<f32, ${WG}>;
    var<workgroup> red : array<f32, ${WG}>;
    ${qproj}
    fn main(index : i32) {
      let row = i32(workgroupId.x);
      let tid = i32(localId.x);
      let t = row % ${T};
      let h = (row / ${T}) % ${H};
      let b = row / ${T * H};
      let S = uniforms.keys;
      let kvBase = (b * ${Hkv} + h / ${rep}) * S * ${D};
      let maskBase = (b * ${T} + t) * S;
      ${loadQ}
      workgroupBarrier();
      var m = -3.0e38;
      var l = 0.0;
      var acc : array<f32, ${nAcc}>;
      let tiles = (S + ${WG - 1}) / ${WG};
      for (var tile = 0; tile < tiles; tile = tile + 1) {
        let j = tile * ${WG} + tid;
        var s = -3.0e38;
        if (j < S) {
          var dv = 0.0;
          for (var d = 0; d < ${D}; d = d + 1) { dv = dv + qs[d] * kc[kvBase + j * ${D} + d]; }
          s = dv + msk[maskBase + j];
        }
        red[tid] = s;
        workgroupBarrier();
        for (var w = ${WG / 2}; w > 0; w = w / 2) {
          if (tid < w) { red[tid] = max(red[tid], red[tid + w]); }
          workgroupBarrier();
        }
        let newm = max(m, red[0]);
        workgroupBarrier();
        var p = 0.0;
        if (j < S) { p = exp(s - newm); }
        ps[tid] = p;
        red[tid] = p;
        workgroupBarrier();
        for (var w = ${WG / 2}; w > 0; w = w / 2) {
          if (tid < w) { red[tid] = red[tid] + red[tid + w]; }
          workgroupBarrier();
        }
        let corr = exp(m - newm);
        l = l * corr + red[0];
        let n = min(${WG}, S - tile * ${WG});
        for (var a = 0; a < ${nAcc}; a = a + 1) {
          let d = a * ${WG} + tid;
          if (d < ${D}) {
            var sv = 0.0;
            for (var jj = 0; jj < n; jj = jj + 1) { sv = sv + ps[jj] * vc[kvBase + (tile * ${WG} + jj) * ${D} + d]; }
            acc[a] = acc[a] * corr + sv;
          }
        }
        m = newm;
        workgroupBarrier();
      }
      for (var a = 0; a < ${nAcc}; a = a + 1) {
        let d = a * ${WG} + tid;
        if (d < ${D}) { setOutputAtIndex(row * ${D} + d, acc[a] / l); }
      }
    }`;
  const named: [string, tf.TensorInfo | undefined][] = project
    ? [['xr', x], ['wt', w], ['cs', cos], ['sn', sin], ['kc', k], ['vc', v], ['msk', mask]]
    : [['qh', q], ['kc', k], ['vc', v], ['msk', mask]];
  const present = named.filter((e): e is [string, tf.TensorInfo] => e[1] !== undefined);
  const key = `tabzero_decode_attn_${project ? `proj_${inOut}_${K}` : 'q'}_${H}_${Hkv}_${T}_${D}`;
  const p = webgpuProgram([B, H, T, D], B * H * T, key, present.map((e) => e[0]), 'keys : i32, scale : f32,', code);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(p, present.map((e) => e[1]), 'float32', [
    { type: 'int32', data: [S] },
    { type: 'float32', data: [1 / Math.sqrt(D)] },
  ]);
}

/**
 * New keys or values appended after a cache [B, heads, S, D]: [B, heads, S+T, D], with HF's
 * rotate-half RoPE when cos and sin [B·T, D] are given (keys). The new rows come either from a
 * projection's output p [B·T, heads·D] or, with a weight w (nn.Linear [heads·D, K], or [K, heads·D]
 * with attr inOut) and optional bias, from x [B·T, K] projected here: one dispatch for what was a
 * matmul, RoPE-into-heads (or a transpose) and a concat.
 */
function appendHeadsKernel(args: KernelArgs): tf.TensorInfo {
  const { p, x, w, bias, cache, cos, sin } = args.inputs as Partial<Record<string, tf.TensorInfo>> & { cache: tf.TensorInfo };
  const [B, heads, S, D] = cache.shape as [number, number, number, number];
  const N = heads * D;
  const project = Boolean(w);
  const src = project ? x! : p!;
  const T = src.shape[0]! / B;
  const K = src.shape[1]!;
  const inOut = Boolean(args.attrs?.['inOut']);
  const rope = Boolean(cos && sin);
  const half = D / 2;
  const n = B * heads * (S + T) * D;
  const fresh = project
    ? `fn fresh(row : i32, col : i32) -> f32 {
        var acc = 0.0;
        for (var c = 0; c < ${K}; c = c + 1) { acc = acc + xr[row * ${K} + c] * ${inOut ? `wt[c * ${N} + col]` : `wt[col * ${K} + c]`}; }
        return acc${bias ? ' + bs[col]' : ''};
      }`
    : `fn fresh(row : i32, col : i32) -> f32 { return pr[row * ${N} + col]; }`;
  const value = rope
    ? `var rot = 0.0;
        if (d < ${half}) { rot = -fresh(row, col + ${half}); } else { rot = fresh(row, col - ${half}); }
        value = fresh(row, col) * cs[row * ${D} + d] + rot * sn[row * ${D} + d];`
    : 'value = fresh(row, col);';
  const code = `
    ${fresh}
    fn main(index : i32) {
      if (index >= uniforms.total) { return; }
      let L = uniforms.past + ${T};
      let d = index % ${D};
      let s = (index / ${D}) % L;
      let h = (index / ${D} / L) % ${heads};
      let b = index / (${N} * L);
      var value = 0.0;
      if (s < uniforms.past) {
        value = ch[((b * ${heads} + h) * uniforms.past + s) * ${D} + d];
      } else {
        let row = b * ${T} + s - uniforms.past;
        let col = h * ${D} + d;
        ${value}
      }
      setOutputAtIndex(index, value);
    }`;
  const named: [string, tf.TensorInfo | undefined][] = project
    ? [['xr', x], ['wt', w], ['bs', bias], ['ch', cache], ['cs', cos], ['sn', sin]]
    : [['pr', p], ['ch', cache], ['cs', cos], ['sn', sin]];
  const present = named.filter((e): e is [string, tf.TensorInfo] => e[1] !== undefined);
  const key = `tabzero_append_${rope}_${project ? `proj_${inOut}_${Boolean(bias)}_${K}` : 'p'}_${heads}_${T}_${D}`;
  const prog = webgpuProgram([B, heads, S + T, D], Math.ceil(n / WG), key, present.map((e) => e[0]), 'total : i32, past : i32,', code);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(prog, present.map((e) => e[1]), 'float32', [
    { type: 'int32', data: [n] },
    { type: 'int32', data: [S] },
  ]);
}

/**
 * silu(x·Wgᵀ) ⊙ (x·Wuᵀ) for x [R, K] and nn.Linear weights [N, K] (or [K, N] when held
 * transposed): one thread per output, both dot products in one pass over x's row.
 */
function gatedProjectionKernel(args: KernelArgs): tf.TensorInfo {
  const { x, wg, wu } = args.inputs as { x: tf.TensorInfo; wg: tf.TensorInfo; wu: tf.TensorInfo };
  const inOut = Boolean(args.attrs!['inOut']);
  const [R, K] = x.shape as [number, number];
  const N = inOut ? wg.shape[1]! : wg.shape[0]!;
  const w = (name: string) => (inOut ? `${name}[c * ${N} + col]` : `${name}[col * ${K} + c]`);
  const code = `
    fn main(index : i32) {
      if (index >= uniforms.total) { return; }
      let r = index / ${N};
      let col = index % ${N};
      var g = 0.0;
      var u = 0.0;
      for (var c = 0; c < ${K}; c = c + 1) {
        let xv = xr[r * ${K} + c];
        g = g + xv * ${w('wg')};
        u = u + xv * ${w('wu')};
      }
      setOutputAtIndex(index, g / (1.0 + exp(-g)) * u);
    }`;
  const prog = webgpuProgram([R, N], Math.ceil((R * N) / WG), `tabzero_gated_${inOut}_${K}_${N}`, ['xr', 'wg', 'wu'], 'total : i32,', code);
  return (args.backend as WebGPUBackendLike).runWebGPUProgram(prog, [x, wg, wu], 'float32', [{ type: 'int32', data: [R * N] }]);
}

const register = webgpuKernelRegistrar([
  [DECODE_ATTENTION, decodeAttentionKernel],
  [APPEND_HEADS, appendHeadsKernel],
  [GATED_PROJECTION, gatedProjectionKernel],
]);

function run(name: string, inputs: Record<string, tf.Tensor>, attrs: Record<string, number> = {}): tf.Tensor {
  register();
  return tf.engine().runKernel(name, inputs as unknown as tf.NamedTensorMap, attrs as unknown as tf.NamedAttrMap) as tf.Tensor;
}

/**
 * True on webgpu while no gradient tape records: these kernels have no gradient, so a forward
 * under tf.grads / variableGrads (training) keeps the differentiable ops.
 */
export function decodeKernelsUsable(): boolean {
  if (tf.getBackend() !== 'webgpu') return false;
  return (tf.engine() as unknown as { state: { gradientDepth: number } }).state.gradientDepth === 0;
}

/**
 * Multiply-adds up to which a projection is folded into a kernel (one thread per output, each
 * reading its weight row or column once per input row): there a dispatch's fixed cost (~10 µs)
 * outweighs the naive product. Larger ones (a 135M-shaped model at batch 128: ~10⁸) go through
 * tfjs's tiled matmul. Chosen by arithmetic, not measured on a GPU (none here): 2²⁴, ~17 M, takes
 * the shipped model's decode at the RL test's 128 rows (gate/up: 128 × 768 × 128 = 12.6 M) and a
 * 135M-shaped model's up to 8 rows.
 */
export const FOLDED_PROJECTION_MACS = 2 ** 24;

/** Whether rows × outputs × inputs multiply-adds are few enough to fold into a kernel. */
export function smallFoldedProjection(rows: number, outputs: number, inputs: number): boolean {
  return rows * outputs * inputs <= FOLDED_PROJECTION_MACS;
}

/** Few query rows per (batch, head): decoding steps, where the products are tiny and dispatches dominate. */
export const DECODE_MAX_QUERY_ROWS = 8;

/** Whether decodeAttention takes these shapes (few query rows, one workgroup each along x). */
export function decodeAttentionFits(q: tf.Tensor4D): boolean {
  return decodeRowsFit(q.shape[0], q.shape[1], q.shape[2]);
}

/** decodeAttentionFits by the query's sizes: B rows of H heads × T positions. */
export function decodeRowsFit(B: number, H: number, T: number): boolean {
  return T <= DECODE_MAX_QUERY_ROWS && B * H * T <= MAX_ROWS;
}

/** softmax(q·kᵀ/√D + mask)·v in one dispatch; mask [B, 1, 1, T, S] (layers.attentionMask). Forward only. */
export function decodeAttention(q: tf.Tensor4D, k: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor): tf.Tensor4D {
  const [B, , T] = q.shape;
  const S = k.shape[2];
  return tf.tidy(() => run(DECODE_ATTENTION, { q, k, v, mask: tf.reshape(mask, [B, T, S]) }) as tf.Tensor4D);
}

/**
 * decodeAttention with q projected from x [B, T, K] (nn.Linear weight [heads·D, K], or [K, heads·D]
 * when inOut; no bias: with one the kernel would bind 9 storage buffers, over WebGPU's default 8 per
 * stage) and RoPE'd (cos, sin [B, 1, T, D]) inside the same dispatch. Forward only.
 */
export function projectedDecodeAttention(
  x: tf.Tensor,
  proj: { w: tf.Tensor2D; inOut: boolean },
  heads: number,
  rope: { cos: tf.Tensor4D; sin: tf.Tensor4D },
  k: tf.Tensor4D,
  v: tf.Tensor4D,
  mask: tf.Tensor,
): tf.Tensor4D {
  const [B, , S, D] = k.shape;
  const K = x.shape[x.shape.length - 1]!;
  const T = x.size / (B * K);
  return tf.tidy(() => {
    const inputs = { x: tf.reshape(x, [B * T, K]), w: proj.w, ...ropeInputs(B, T, D, rope), k, v, mask: tf.reshape(mask, [B, T, S]) };
    return run(DECODE_ATTENTION, inputs, { heads, inOut: proj.inOut ? 1 : 0 }) as tf.Tensor4D;
  });
}

/**
 * p [B, T, heads·D] split into heads and appended after cache [B, heads, S, D], RoPE'd when the
 * tables (cos, sin [B, 1, T, D], layers.ropeTables) are given. Forward only.
 */
export function appendHeads(p: tf.Tensor, cache: tf.Tensor4D, B: number, T: number, rope?: { cos: tf.Tensor4D; sin: tf.Tensor4D }): tf.Tensor4D {
  const [, heads, , D] = cache.shape;
  return tf.tidy(() => run(APPEND_HEADS, { p: tf.reshape(p, [B * T, heads * D]), cache, ...ropeInputs(B, T, D, rope) }) as tf.Tensor4D);
}

/**
 * x [B, T, K] projected by an nn.Linear weight (held [out, in], or [in, out] when inOut) plus an
 * optional bias, split into heads and appended after cache as appendHeads does, in one dispatch.
 * Forward only.
 */
export function projectAppendHeads(
  x: tf.Tensor,
  proj: { w: tf.Tensor2D; bias: tf.Tensor1D | null; inOut: boolean },
  cache: tf.Tensor4D,
  B: number,
  T: number,
  rope?: { cos: tf.Tensor4D; sin: tf.Tensor4D },
): tf.Tensor4D {
  const D = cache.shape[3];
  const K = x.shape[x.shape.length - 1]!;
  return tf.tidy(() => {
    const inputs: Record<string, tf.Tensor> = { x: tf.reshape(x, [B * T, K]), w: proj.w, cache, ...ropeInputs(B, T, D, rope) };
    if (proj.bias) inputs['bias'] = proj.bias;
    return run(APPEND_HEADS, inputs, { inOut: proj.inOut ? 1 : 0 }) as tf.Tensor4D;
  });
}

function ropeInputs(B: number, T: number, D: number, rope?: { cos: tf.Tensor4D; sin: tf.Tensor4D }): Record<string, tf.Tensor> {
  return rope ? { cos: tf.reshape(rope.cos, [B * T, D]), sin: tf.reshape(rope.sin, [B * T, D]) } : {};
}

/** silu(x·gate) ⊙ (x·up) for nn.Linear weights held [out, in] (inOut false) or [in, out]. Forward only. */
export function gatedProjection(x: tf.Tensor, gate: tf.Tensor2D, up: tf.Tensor2D, inOut: boolean): tf.Tensor {
  const shape = x.shape;
  const K = shape[shape.length - 1]!;
  const N = inOut ? gate.shape[1] : gate.shape[0];
  return tf.tidy(() => {
    const y = run(GATED_PROJECTION, { x: tf.reshape(x, [-1, K]), wg: gate, wu: up }, { inOut: inOut ? 1 : 0 });
    return tf.reshape(y, [...shape.slice(0, -1), N]);
  });
}

/** residual + x·W (nn.Linear weight [out, in], or [in, out] when inOut) as one matmul with the sum fused in. */
export function linearPlusResidual(x: tf.Tensor, w: tf.Tensor2D, residual: tf.Tensor, inOut: boolean): tf.Tensor {
  const shape = x.shape;
  const K = shape[shape.length - 1]!;
  const N = inOut ? w.shape[1] : w.shape[0];
  return tf.tidy(() => {
    const y = tf.fused.matMul({ a: tf.reshape(x, [-1, K]) as tf.Tensor2D, b: w, transposeB: !inOut, bias: tf.reshape(residual, [-1, N]) });
    return tf.reshape(y, [...shape.slice(0, -1), N]);
  });
}
