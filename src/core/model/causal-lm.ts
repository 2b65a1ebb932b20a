/**
 * A decoder-only language model (Llama family or GPT-2) whose weights are tf.Variables keyed by
 * their Hugging Face tensor names, so training updates them in place and export writes them back
 * under the same names.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { ModelConfig } from './types';
import { EngineInputError, MissingTensorError, TensorShapeError } from './errors';
import { expectedTensors, gpt2Prefix, type TensorSpec } from './weights';
import { activation, applyRope, attend, attentionMask, embed, layerNorm, linear, mergeHeads, recordingGradients, rmsNorm, ropeInvFreq, ropeTables, splitHeads, swiGLU } from './layers';
import { Rng } from '../rng';
import { installWasmSharedIdentity } from '../kernels/wasm-identity';
import { fusedRmsNorm, fusedRopeHeads, fusedSwiGLU, webgpuFusedAvailable } from '../kernels/webgpu-fused';
import { appendHeads, decodeKernelsUsable, decodeRowsFit, gatedProjection, linearPlusResidual, projectAppendHeads, projectedDecodeAttention, smallFoldedProjection } from '../kernels/webgpu-decode';
import { llamaLayerWithGrad } from './llama-layer-grad';
import { layerActivationFloats, layerGradSupported } from './layer-activations';

export interface HostTensor {
  shape: number[];
  data: Float32Array;
}

/** Keys and values of past positions, per layer, [B, Hkv, S, D]. Owned by whoever holds it: dispose with disposeCache. */
export interface KVCache {
  keys: tf.Tensor4D[];
  values: tf.Tensor4D[];
  /** S: number of cached positions (pads included). */
  length: number;
}

export interface ForwardInput {
  /** [batch*length] token ids. */
  ids: Int32Array;
  batch: number;
  length: number;
  /** [batch*length] position of each token (from the first real token of its row). */
  positions: Int32Array;
  /** [batch*(past+length)]: 1 for real keys, 0 for pads, covering cached positions then these. */
  attentionMask: Int32Array;
  cache?: KVCache | null;
  /** Return a cache that covers past + these positions (the input cache is left untouched). */
  returnCache?: boolean;
  /** Compute logits only at the last position ([B, 1, V]): what decoding needs. */
  lastOnly?: boolean;
  /**
   * Compute logits only from this position on ([B, length − logitsFrom, V]): a completion's
   * log-probs need none of its prompt's positions but the last.
   */
  logitsFrom?: number;
}

export interface ForwardOutput {
  logits: tf.Tensor3D;
  cache: KVCache | null;
}

export function disposeCache(cache: KVCache | null | undefined): void {
  if (!cache) return;
  for (const t of cache.keys) t.dispose();
  for (const t of cache.values) t.dispose();
}

export interface CausalLMOptions {
  trainable?: boolean;
  /**
   * Hold nn.Linear weights as [in, out] instead of HF's [out, in]. The wasm and cpu kernels copy a
   * transposed operand on every matMul (the whole model per decoded token), while WebGPU reads either
   * layout in place. Default: true except on webgpu. Export always writes HF's layout.
   */
  transposedLinear?: boolean;
}

/**
 * recomputeLayers 'auto' recomputes above this many activation bytes: beyond ~1.5 GiB, over a
 * third of wasm32's 4 GiB heap, memory is the risk; below, the ~35% longer update is not worth it.
 */
export const RECOMPUTE_ABOVE_BYTES = 1.5 * 2 ** 30;

export class CausalLM {
  readonly config: ModelConfig;
  /**
   * HF tensor name → variable, in the canonical order of expectedTensors. With transposedLinear
   * the nn.Linear weights hold the transpose of the HF tensor; exportTensors undoes that.
   */
  readonly weights: Map<string, tf.Variable>;
  readonly transposedLinear: boolean;
  readonly numParams: number;
  readonly trainable: boolean;
  /**
   * Recompute each Llama-family decoder layer in the backward pass instead of keeping what its
   * backward pass needs: a training forward then holds one [B, T, hidden] input per layer, at the
   * cost of a second forward pass of every layer. Measured on wasm at the RL test's shape
   * (32 rows × 156 tokens), with the layers' hand-written backward pass either way: the update's
   * peak heap 0.36 → 0.29 GB, its CPU time 6.6–7.0 → 9.0–9.3 s; gradients equal. 'auto'
   * recomputes when activationBytes() exceeds RECOMPUTE_ABOVE_BYTES. Forwards with a cache are
   * never recomputed.
   */
  recomputeLayers: boolean | 'auto' = 'auto';
  private readonly prefix: string;
  private readonly invFreq: Float64Array;
  private disposed = false;
  /** Transposed copy of a tied embedding for the head of decoding steps on wasm/cpu, with the data it was made from. */
  private headCache: { source: object; t: tf.Tensor2D } | null = null;

  /**
   * Build from host tensors (parsed safetensors or random init). Every tensor the architecture
   * needs must be present with the shape config.json implies; extra tensors (buffers such as
   * GPT-2's attn.bias, or lm_head when embeddings are tied) are ignored.
   */
  constructor(config: ModelConfig, tensors: Map<string, HostTensor | tf.Tensor>, opts: CausalLMOptions & { internalLayout?: boolean } = {}) {
    this.config = config;
    this.trainable = opts.trainable ?? true;
    this.transposedLinear = opts.transposedLinear ?? tf.getBackend() !== 'webgpu';
    this.prefix = config.arch === 'gpt2' ? gpt2Prefix(tensors.keys()) : '';
    this.invFreq = config.arch === 'gpt2' ? new Float64Array(0) : ropeInvFreq(config);
    const specs = expectedTensors(config, this.prefix);
    // Sources in the model's own layout (cloneModel) already hold transposed linear weights.
    const flip = (spec: TensorSpec) => Boolean(spec.linear) && this.transposedLinear;
    const sourceShape = (spec: TensorSpec) => (opts.internalLayout && flip(spec) ? [spec.shape[1]!, spec.shape[0]!] : spec.shape);
    for (const spec of specs) {
      const t = tensors.get(spec.name);
      if (!t) {
        throw new MissingTensorError(
          `The weights lack tensor "${spec.name}" (expected shape [${spec.shape.join(', ')}]), which a ${config.modelType} model with this config.json needs.`,
        );
      }
      const want = sourceShape(spec);
      if (t.shape.length !== want.length || t.shape.some((d, i) => d !== want[i])) {
        throw new TensorShapeError(
          `Tensor "${spec.name}" has shape [${t.shape.join(', ')}] but config.json implies [${spec.shape.join(', ')}].`,
        );
      }
    }
    this.weights = new Map();
    let n = 0;
    for (const spec of specs) {
      const t = tensors.get(spec.name)!;
      const init = t instanceof tf.Tensor ? t : tf.tensor(t.data, spec.shape, 'float32');
      const value = flip(spec) && !opts.internalLayout ? tf.transpose(init) : init;
      this.weights.set(spec.name, tf.variable(value, this.trainable));
      if (value !== init) value.dispose();
      if (!(t instanceof tf.Tensor)) init.dispose();
      n += spec.shape.reduce((a, b) => a * b, 1);
    }
    this.numParams = n;
  }

  /**
   * Estimated bytes the decoder layers of a training forward of B rows × T tokens hold for the
   * backward pass without recomputation (what recomputation could save): see
   * layerActivationFloats. GPT-2 and activations other than SwiGLU's keep every op's saved
   * tensors instead, about 40·hidden + 20·intermediate + 10·heads·T floats per layer and token.
   */
  activationBytes(B: number, T: number): number {
    const c = this.config;
    const perToken = layerGradSupported(c) ? layerActivationFloats(c, T) : 40 * c.hiddenSize + 20 * c.intermediateSize + 10 * c.numHeads * T;
    return 4 * c.numLayers * B * T * perToken;
  }

  /** Tensor names and shapes this model holds, in order. */
  tensorSpecs(): TensorSpec[] {
    return expectedTensors(this.config, this.prefix);
  }

  /**
   * Maps a tensor shaped like one of this model's weights (an optimizer moment, say) between the
   * engine's layout and Hugging Face's; the same map goes both ways (a transpose or nothing).
   */
  hfLayoutFlip(): (name: string, t: tf.Tensor) => tf.Tensor {
    const linear = new Set(this.tensorSpecs().filter((s) => s.linear).map((s) => s.name));
    const flip = this.transposedLinear;
    return (name, t) => (flip && linear.has(name) ? tf.transpose(t) : t);
  }

  trainableVariables(): tf.Variable[] {
    return this.trainable ? [...this.weights.values()] : [];
  }

  private w(name: string): tf.Variable {
    const v = this.weights.get(name);
    if (!v) throw new MissingTensorError(`Model has no tensor "${name}".`);
    return v;
  }

  private opt(name: string): tf.Variable | null {
    return this.weights.get(name) ?? null;
  }

  /** x times an nn.Linear weight, whichever layout the model holds it in. */
  private lin(x: tf.Tensor, name: string, bias: tf.Tensor1D | null): tf.Tensor {
    return linear(x, this.w(name) as tf.Tensor2D, bias, !this.transposedLinear);
  }

  /**
   * The output projection. A tied embedding is [V, H]; decoding steps on wasm/cpu use a cached
   * transposed copy (refreshed when training replaces the variable's data), so they avoid copying
   * the whole embedding every token. That path carries no gradient: only lastOnly forwards take it.
   */
  private head(x: tf.Tensor, lastOnly: boolean): tf.Tensor {
    if (!this.config.tieWordEmbeddings) return this.lin(x, 'lm_head.weight', null);
    const emb = this.w(this.config.arch === 'gpt2' ? `${this.prefix}wte.weight` : 'model.embed_tokens.weight');
    if (!lastOnly || !this.transposedLinear) return linear(x, emb as tf.Tensor2D, null, true);
    if (!this.headCache || this.headCache.source !== emb.dataId) {
      this.headCache?.t.dispose();
      this.headCache = { source: emb.dataId, t: tf.keep(tf.transpose(emb)) as tf.Tensor2D };
    }
    return linear(x, this.headCache.t, null, false);
  }

  /** Logits [B, T, V] (or [B, 1, V] with lastOnly, [B, T − logitsFrom, V] with logitsFrom) and, on request, the extended KV cache. */
  forward(inp: ForwardInput): ForwardOutput {
    if (this.disposed) throw new EngineInputError('This model has been disposed.');
    const { batch: B, length: T } = inp;
    if (inp.ids.length !== B * T || inp.positions.length !== B * T) {
      throw new EngineInputError(`forward: ids and positions must hold batch×length = ${B * T} entries (got ${inp.ids.length} and ${inp.positions.length}).`);
    }
    const past = inp.cache?.length ?? 0;
    // Tensors saved for the backward pass share their buffers instead of being copied.
    if (tf.getBackend() === 'wasm') installWasmSharedIdentity();
    if (this.config.arch === 'gpt2') {
      let maxPos = 0;
      for (const p of inp.positions) maxPos = Math.max(maxPos, p);
      if (maxPos >= this.config.maxPositionEmbeddings) {
        throw new EngineInputError(`Position ${maxPos} exceeds this GPT-2 model's ${this.config.maxPositionEmbeddings} learned positions; shorten the prompt or max new tokens.`);
      }
    }
    const result = tf.tidy(() => {
      const ids = tf.tensor1d(inp.ids, 'int32');
      const mask = attentionMask(inp.attentionMask, B, T, past);
      const ks: tf.Tensor4D[] = [];
      const vs: tf.Tensor4D[] = [];
      let x: tf.Tensor;
      if (this.config.arch === 'gpt2') {
        x = this.gpt2Body(ids, inp, mask, ks, vs);
      } else {
        x = this.llamaBody(ids, inp, mask, ks, vs);
      }
      const from = inp.lastOnly ? T - 1 : Math.min(Math.max(0, Math.floor(inp.logitsFrom ?? 0)), T - 1);
      if (from > 0) x = tf.slice(x, [0, from, 0], [-1, T - from, -1]);
      const tLen = T - from;
      const logits = tf.reshape(this.head(x, Boolean(inp.lastOnly)), [B, tLen, this.config.vocabSize]) as tf.Tensor3D;
      return { logits, ks, vs };
    });
    const cache = inp.returnCache ? { keys: result.ks, values: result.vs, length: past + T } : null;
    if (!inp.returnCache) disposeCache({ keys: result.ks, values: result.vs, length: 0 });
    return { logits: result.logits, cache };
  }

  private withCache(t: tf.Tensor4D, cached: tf.Tensor4D | undefined): tf.Tensor4D {
    return cached ? (tf.concat([cached, t], 2) as tf.Tensor4D) : t;
  }

  private llamaBody(ids: tf.Tensor1D, inp: ForwardInput, mask: tf.Tensor, ks: tf.Tensor4D[], vs: tf.Tensor4D[]): tf.Tensor {
    const c = this.config;
    const { batch: B, length: T } = inp;
    const fused = webgpuFusedAvailable();
    const { cos, sin } = ropeTables(this.invFreq, inp.positions, B, T);
    let x: tf.Tensor = tf.reshape(embed(this.w('model.embed_tokens.weight') as tf.Tensor2D, ids), [B, T, c.hiddenSize]);
    const wanted = this.recomputeLayers === 'auto' ? this.activationBytes(B, T) > RECOMPUTE_ABOVE_BYTES : this.recomputeLayers;
    const recompute = wanted && this.trainable && !inp.cache && !inp.returnCache;
    // Training forwards (no cache) take the layer with a hand-written backward pass.
    const handWritten = this.trainable && !inp.cache && !inp.returnCache && layerGradSupported(c);
    const recording = recordingGradients();
    for (let i = 0; i < c.numLayers; i++) {
      const l = `model.layers.${i}.`;
      if (!recompute && handWritten) {
        const names = [...this.weights.keys()].filter((n) => n.startsWith(l));
        const ws = new Map(names.map((n) => [n.slice(l.length), this.w(n) as tf.Tensor]));
        const layer = () => llamaLayerWithGrad(c, x, ws, { B, T, cos, sin, mask, fused, outIn: !this.transposedLinear });
        // Without a gradient being recorded, what the layer saves for its backward pass goes now.
        x = recording ? layer() : tf.tidy(layer);
        continue;
      }
      if (!recompute) {
        const get = (n: string) => this.opt(`${l}${n}`);
        const cache = inp.cache ? { k: inp.cache.keys[i]!, v: inp.cache.values[i]! } : null;
        if (!recording) {
          // Nothing records gradients (a reference or old-policy pass, decoding): free the layer's
          // intermediates now rather than when the caller's tidy ends with every layer's at once.
          const out = tf.tidy(() => {
            const k: tf.Tensor4D[] = [];
            const v: tf.Tensor4D[] = [];
            return { y: this.llamaLayer(x, get, { B, T, cos, sin, mask, fused }, cache, k, v), k, v };
          });
          x = out.y;
          ks.push(...out.k);
          vs.push(...out.v);
          continue;
        }
        x = this.llamaLayer(x, get, { B, T, cos, sin, mask, fused }, cache, ks, vs);
        continue;
      }
      const names = [...this.weights.keys()].filter((n) => n.startsWith(l)).map((n) => n.slice(l.length));
      const f = tf.customGrad((...args: (tf.Tensor | tf.GradSaveFunc)[]) => {
        const xin = args[0] as tf.Tensor;
        const wsIn = args.slice(1, 1 + names.length) as tf.Tensor[];
        const save = args[1 + names.length] as tf.GradSaveFunc;
        // The rope tables and mask belong to the forward's tidy: saved, they live until the backward pass.
        save([xin, ...wsIn, cos, sin, mask]);
        const layer = (xx: tf.Tensor, ww: tf.Tensor[], ctx: { cos: tf.Tensor4D; sin: tf.Tensor4D; mask: tf.Tensor }) => {
          const byName = new Map(names.map((n, j) => [n, ww[j]!]));
          // The hand-written backward pass inside too: the recomputed layer's own peak stays small.
          if (handWritten) return llamaLayerWithGrad(c, xx, byName, { B, T, fused, outIn: !this.transposedLinear, ...ctx });
          return this.llamaLayer(xx, (n) => byName.get(n) ?? null, { B, T, fused, ...ctx }, null, [], []);
        };
        return {
          // Only the layer's output outlives this tidy: nothing the ops inside would save is kept.
          value: tf.tidy(() => layer(xin, wsIn, { cos, sin, mask })),
          gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
            const sx = saved[0]!;
            const sws = saved.slice(1, 1 + names.length);
            const [scos, ssin, smask] = saved.slice(1 + names.length) as [tf.Tensor4D, tf.Tensor4D, tf.Tensor];
            // A gradient taken inside a backward pass: tfjs's engine ends it by dropping "the" tape,
            // which is then the outer pass's, still to be cleaned up; keep and restore it.
            const state = (tf.engine() as unknown as { state: { activeTape: unknown } }).state;
            const outer = state.activeTape;
            try {
              return tf.grads((...a: tf.Tensor[]) => layer(a[0]!, a.slice(1), { cos: scos, sin: ssin, mask: smask }))([sx, ...sws], dy);
            } finally {
              state.activeTape = outer;
            }
          },
        };
      });
      x = f(x, ...names.map((n) => this.w(`${l}${n}`)));
    }
    const final = this.w('model.norm.weight') as tf.Tensor1D;
    return fused ? fusedRmsNorm(x, final, c.normEps) : rmsNorm(x, final, c.normEps);
  }

  /**
   * One decoder layer. `get` gives the layer's tensors by their name under model.layers.N.
   * (null for absent optional ones); the new keys and values (cache included) go to ks and vs.
   */
  private llamaLayer(
    x: tf.Tensor,
    get: (name: string) => tf.Tensor | null,
    ctx: { B: number; T: number; cos: tf.Tensor4D; sin: tf.Tensor4D; mask: tf.Tensor; fused: boolean },
    cache: { k: tf.Tensor4D; v: tf.Tensor4D } | null,
    ks: tf.Tensor4D[],
    vs: tf.Tensor4D[],
  ): tf.Tensor {
    const c = this.config;
    const { B, T, cos, sin, mask, fused } = ctx;
    const D = c.headDim;
    const act = c.hiddenAct ?? 'silu';
    const need = (n: string) => {
      const t = get(n);
      if (!t) throw new MissingTensorError(`Model has no tensor "${n}" in a decoder layer.`);
      return t;
    };
    const lin = (h: tf.Tensor, n: string, bias: tf.Tensor | null) => linear(h, need(`${n}.weight`) as tf.Tensor2D, bias as tf.Tensor1D | null, !this.transposedLinear);
    if (fused && cache && !c.qkNorm && (act === 'silu' || act === 'swish') && decodeKernelsUsable()) return this.llamaDecodeLayer(x, get, need, ctx, cache, ks, vs);
    // WebGPU runs the elementwise chains as single fused dispatches (see kernels/webgpu-fused).
    const norm = (h: tf.Tensor, n: string) => (fused ? fusedRmsNorm : rmsNorm)(h, need(n) as tf.Tensor1D, c.normEps);
    const h = norm(x, 'input_layernorm.weight');
    const proj = (n: string) => lin(h, `self_attn.${n}`, get(`self_attn.${n}.bias`));
    let q: tf.Tensor4D;
    let k: tf.Tensor4D;
    if (fused && !c.qkNorm) {
      q = fusedRopeHeads(proj('q_proj'), cos, sin, B, T, c.numHeads, D);
      k = fusedRopeHeads(proj('k_proj'), cos, sin, B, T, c.numKvHeads, D);
    } else {
      q = splitHeads(proj('q_proj'), B, T, c.numHeads, D);
      k = splitHeads(proj('k_proj'), B, T, c.numKvHeads, D);
      if (c.qkNorm) {
        q = rmsNorm(q, need('self_attn.q_norm.weight') as tf.Tensor1D, c.normEps) as tf.Tensor4D;
        k = rmsNorm(k, need('self_attn.k_norm.weight') as tf.Tensor1D, c.normEps) as tf.Tensor4D;
      }
      q = applyRope(q, cos, sin);
      k = applyRope(k, cos, sin);
    }
    const v = splitHeads(proj('v_proj'), B, T, c.numKvHeads, D);
    const kAll = this.withCache(k, cache?.k);
    const vAll = this.withCache(v, cache?.v);
    ks.push(kAll);
    vs.push(vAll);
    const o = mergeHeads(attend(q, kAll, vAll, mask), B, T);
    x = tf.add(x, lin(o, 'self_attn.o_proj', get('self_attn.o_proj.bias')));
    const h2 = norm(x, 'post_attention_layernorm.weight');
    const gateIn = lin(h2, 'mlp.gate_proj', null);
    const up = lin(h2, 'mlp.up_proj', null);
    const silu = act === 'silu' || act === 'swish';
    const gated = silu ? (fused ? fusedSwiGLU : swiGLU)(gateIn, up) : tf.mul(activation(act, gateIn), up);
    return tf.add(x, lin(gated, 'mlp.down_proj', null));
  }

  /**
   * llamaLayer for a decoding step on webgpu with no gradient recorded, through forward-only
   * kernels (kernels/webgpu-decode): keys and values projected and appended to the cache in one
   * dispatch each, attention with the query's projection and RoPE in one, gate/up/SwiGLU in one,
   * residual sums inside the o_proj and down_proj products. Same arithmetic.
   */
  private llamaDecodeLayer(
    x: tf.Tensor,
    get: (name: string) => tf.Tensor | null,
    need: (name: string) => tf.Tensor,
    ctx: { B: number; T: number; cos: tf.Tensor4D; sin: tf.Tensor4D; mask: tf.Tensor },
    cache: { k: tf.Tensor4D; v: tf.Tensor4D },
    ks: tf.Tensor4D[],
    vs: tf.Tensor4D[],
  ): tf.Tensor {
    const c = this.config;
    const { B, T, cos, sin, mask } = ctx;
    const inOut = this.transposedLinear;
    const w = (n: string) => need(`${n}.weight`) as tf.Tensor2D;
    const bias = (n: string) => get(`${n}.bias`) as tf.Tensor1D | null;
    const proj = (h: tf.Tensor, n: string) => linear(h, w(n), bias(n), !inOut);
    const plusProj = (res: tf.Tensor, h: tf.Tensor, n: string) => {
      const b = bias(n);
      return b ? tf.add(res, linear(h, w(n), b, !inOut)) : linearPlusResidual(h, w(n), res, inOut);
    };
    const h = fusedRmsNorm(x, need('input_layernorm.weight') as tf.Tensor1D, c.normEps);
    const projection = (n: string) => ({ w: w(n), bias: bias(n), inOut });
    // Projections folded into a kernel run as one thread per output: only where that is small work.
    const rows = B * T;
    const kvWidth = c.numKvHeads * c.headDim;
    const append = (n: string, cached: tf.Tensor4D, rope?: { cos: tf.Tensor4D; sin: tf.Tensor4D }) =>
      smallFoldedProjection(rows, 2 * kvWidth, c.hiddenSize)
        ? projectAppendHeads(h, projection(n), cached, B, T, rope)
        : appendHeads(proj(h, n), cached, B, T, rope);
    const kAll = append('self_attn.k_proj', cache.k, { cos, sin });
    const vAll = append('self_attn.v_proj', cache.v);
    ks.push(kAll);
    vs.push(vAll);
    // Each query row projects its own head (and RoPE's partner half): rows · heads · 2D outputs.
    // With a q bias the kernel would bind 9 storage buffers, over WebGPU's default 8 per stage.
    const foldQ = decodeRowsFit(B, c.numHeads, T) && !bias('self_attn.q_proj') && smallFoldedProjection(rows, 2 * c.numHeads * c.headDim, c.hiddenSize);
    const attn = foldQ
      ? projectedDecodeAttention(h, projection('self_attn.q_proj'), c.numHeads, { cos, sin }, kAll, vAll, mask)
      : attend(fusedRopeHeads(proj(h, 'self_attn.q_proj'), cos, sin, B, T, c.numHeads, c.headDim), kAll, vAll, mask);
    const o = mergeHeads(attn, B, T);
    const x1 = plusProj(x, o, 'self_attn.o_proj');
    const h2 = fusedRmsNorm(x1, need('post_attention_layernorm.weight') as tf.Tensor1D, c.normEps);
    const gated = smallFoldedProjection(rows, 2 * c.intermediateSize, c.hiddenSize)
      ? gatedProjection(h2, w('mlp.gate_proj'), w('mlp.up_proj'), inOut)
      : fusedSwiGLU(proj(h2, 'mlp.gate_proj'), proj(h2, 'mlp.up_proj'));
    return plusProj(x1, gated, 'mlp.down_proj');
  }

  private gpt2Body(ids: tf.Tensor1D, inp: ForwardInput, mask: tf.Tensor, ks: tf.Tensor4D[], vs: tf.Tensor4D[]): tf.Tensor {
    const c = this.config;
    const p = this.prefix;
    const { batch: B, length: T } = inp;
    const H = c.hiddenSize;
    const D = c.headDim;
    const pos = tf.tensor1d(inp.positions, 'int32');
    let x: tf.Tensor = tf.reshape(
      tf.add(embed(this.w(`${p}wte.weight`) as tf.Tensor2D, ids), embed(this.w(`${p}wpe.weight`) as tf.Tensor2D, pos)),
      [B, T, H],
    );
    const b1 = (n: string) => this.w(n) as tf.Tensor1D;
    const w2 = (n: string) => this.w(n) as tf.Tensor2D;
    for (let i = 0; i < c.numLayers; i++) {
      const l = `${p}h.${i}.`;
      const h = layerNorm(x, b1(`${l}ln_1.weight`), b1(`${l}ln_1.bias`), c.normEps);
      const qkv = linear(h, w2(`${l}attn.c_attn.weight`), b1(`${l}attn.c_attn.bias`), false);
      const [qf, kf, vf] = tf.split(qkv, 3, 2);
      const q = splitHeads(qf!, B, T, c.numHeads, D);
      const kAll = this.withCache(splitHeads(kf!, B, T, c.numHeads, D), inp.cache?.keys[i]);
      const vAll = this.withCache(splitHeads(vf!, B, T, c.numHeads, D), inp.cache?.values[i]);
      ks.push(kAll);
      vs.push(vAll);
      const o = mergeHeads(attend(q, kAll, vAll, mask), B, T);
      x = tf.add(x, linear(o, w2(`${l}attn.c_proj.weight`), b1(`${l}attn.c_proj.bias`), false));
      const h2 = layerNorm(x, b1(`${l}ln_2.weight`), b1(`${l}ln_2.bias`), c.normEps);
      const m = activation(c.hiddenAct ?? 'gelu_new', linear(h2, w2(`${l}mlp.c_fc.weight`), b1(`${l}mlp.c_fc.bias`), false));
      x = tf.add(x, linear(m, w2(`${l}mlp.c_proj.weight`), b1(`${l}mlp.c_proj.bias`), false));
    }
    return layerNorm(x, b1(`${p}ln_f.weight`), b1(`${p}ln_f.bias`), c.normEps);
  }

  /** Weights read back to the host, under their HF names (for export and checkpoints). */
  async exportTensors(): Promise<Map<string, HostTensor>> {
    const out = new Map<string, HostTensor>();
    for (const spec of this.tensorSpecs()) {
      const v = this.w(spec.name);
      if (spec.linear && this.transposedLinear) {
        const t = tf.transpose(v);
        out.set(spec.name, { shape: spec.shape, data: (await t.data()) as Float32Array });
        t.dispose();
      } else {
        out.set(spec.name, { shape: spec.shape, data: (await v.data()) as Float32Array });
      }
    }
    return out;
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const v of this.weights.values()) v.dispose();
    this.headCache?.t.dispose();
    this.headCache = null;
  }
}

/** A frozen copy (no trainable variables) for the GRPO reference model. Shares no state with the original after either is updated. */
export function cloneModel(model: CausalLM, opts: { trainable?: boolean } = {}): CausalLM {
  return new CausalLM(model.config, new Map<string, tf.Tensor>(model.weights), {
    trainable: opts.trainable ?? false,
    transposedLinear: model.transposedLinear,
    internalLayout: true,
  });
}

/** Seeded random weights, scaled like HF's initializer (normal with std initializer_range, default 0.02). */
export function randomInit(config: ModelConfig, seed: number, opts: CausalLMOptions & { std?: number } = {}): CausalLM {
  const rng = new Rng(seed);
  const raw = config.raw.initializer_range;
  const std = opts.std ?? (typeof raw === 'number' ? raw : 0.02);
  const tensors = new Map<string, HostTensor>();
  for (const spec of expectedTensors(config)) {
    const n = spec.shape.reduce((a, b) => a * b, 1);
    const data = new Float32Array(n);
    if (spec.init === 'ones') data.fill(1);
    else if (spec.init === 'normal') {
      for (let i = 0; i < n; i += 2) {
        // Box-Muller: two normals per pair of uniforms.
        const u = 1 - rng.next();
        const r = Math.sqrt(-2 * Math.log(u)) * std;
        const a = 2 * Math.PI * rng.next();
        data[i] = r * Math.cos(a);
        if (i + 1 < n) data[i + 1] = r * Math.sin(a);
      }
    }
    tensors.set(spec.name, { shape: spec.shape, data });
  }
  return new CausalLM(config, tensors, opts);
}
