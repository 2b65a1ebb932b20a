/**
 * An independent reference forward pass in plain float64 JavaScript loops, one position at a
 * time, written from the Hugging Face modelling code (not from the engine). No tfjs.
 */
import type { ModelConfig } from '../../src/core/model/types';

export type HostWeights = Map<string, { shape: number[]; data: Float32Array }>;

function W(w: HostWeights, name: string): Float32Array {
  const t = w.get(name);
  if (!t) throw new Error(`reference: missing ${name}`);
  return t.data;
}

/** y = W x (+ b) with W stored [out, in]. */
function lin(x: number[], w: Float32Array, outDim: number, b?: Float32Array): number[] {
  const n = x.length;
  const y = new Array<number>(outDim).fill(0);
  for (let o = 0; o < outDim; o++) {
    let s = b ? b[o]! : 0;
    for (let i = 0; i < n; i++) s += w[o * n + i]! * x[i]!;
    y[o] = s;
  }
  return y;
}

/** y = x W (+ b) with W stored [in, out] (GPT-2 Conv1D). */
function conv1d(x: number[], w: Float32Array, outDim: number, b: Float32Array): number[] {
  const y = new Array<number>(outDim).fill(0);
  for (let o = 0; o < outDim; o++) {
    let s = b[o]!;
    for (let i = 0; i < x.length; i++) s += x[i]! * w[i * outDim + o]!;
    y[o] = s;
  }
  return y;
}

function rms(x: number[], g: Float32Array, eps: number): number[] {
  const ms = x.reduce((a, v) => a + v * v, 0) / x.length;
  const r = 1 / Math.sqrt(ms + eps);
  return x.map((v, i) => v * r * g[i]!);
}

function ln(x: number[], g: Float32Array, b: Float32Array, eps: number): number[] {
  const m = x.reduce((a, v) => a + v, 0) / x.length;
  const va = x.reduce((a, v) => a + (v - m) ** 2, 0) / x.length;
  return x.map((v, i) => ((v - m) / Math.sqrt(va + eps)) * g[i]! + b[i]!);
}

function rope(x: number[], pos: number, theta: number): number[] {
  const d = x.length;
  const half = d / 2;
  const out = new Array<number>(d);
  for (let i = 0; i < half; i++) {
    const a = pos / theta ** ((2 * i) / d);
    const c = Math.cos(a);
    const s = Math.sin(a);
    out[i] = x[i]! * c - x[i + half]! * s;
    out[i + half] = x[i + half]! * c + x[i]! * s;
  }
  return out;
}

/**
 * Logits [B][T][V] for rows of ids with a padding mask; positions are counted from each row's
 * first real token. Pads attend nowhere meaningful; only real positions are compared.
 */
export function referenceLogits(cfg: ModelConfig, w: HostWeights, ids: number[][], mask: number[][]): number[][][] {
  return ids.map((row, b) => referenceRow(cfg, w, row, mask[b]!));
}

function referenceRow(cfg: ModelConfig, w: HostWeights, ids: number[], mask: number[]): number[][] {
  const T = ids.length;
  const H = cfg.hiddenSize;
  const D = cfg.headDim;
  const nh = cfg.numHeads;
  const nkv = cfg.numKvHeads;
  const positions: number[] = [];
  let count = 0;
  for (let t = 0; t < T; t++) positions.push(mask[t] ? count++ : 0);
  const gpt = cfg.arch === 'gpt2';
  const p = gpt ? (w.has('wte.weight') ? '' : 'transformer.') : '';
  const emb = W(w, gpt ? `${p}wte.weight` : 'model.embed_tokens.weight');
  let xs: number[][] = ids.map((id, t) => {
    const v = Array.from(emb.subarray(id * H, (id + 1) * H));
    if (gpt) {
      const wpe = W(w, `${p}wpe.weight`);
      for (let i = 0; i < H; i++) v[i]! += wpe[positions[t]! * H + i]!;
    }
    return v;
  });
  const gelu = (x: number) => 0.5 * x * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (x + 0.044715 * x ** 3)));
  const silu = (x: number) => x / (1 + Math.exp(-x));
  for (let l = 0; l < cfg.numLayers; l++) {
    const qs: number[][][] = [];
    const ks: number[][][] = [];
    const vs: number[][][] = [];
    const L = gpt ? `${p}h.${l}.` : `model.layers.${l}.`;
    for (let t = 0; t < T; t++) {
      let q: number[], k: number[], v: number[];
      if (gpt) {
        const h = ln(xs[t]!, W(w, `${L}ln_1.weight`), W(w, `${L}ln_1.bias`), cfg.normEps);
        const qkv = conv1d(h, W(w, `${L}attn.c_attn.weight`), 3 * H, W(w, `${L}attn.c_attn.bias`));
        q = qkv.slice(0, H);
        k = qkv.slice(H, 2 * H);
        v = qkv.slice(2 * H);
      } else {
        const h = rms(xs[t]!, W(w, `${L}input_layernorm.weight`), cfg.normEps);
        const bias = (n: string) => w.get(`${L}self_attn.${n}.bias`)?.data;
        q = lin(h, W(w, `${L}self_attn.q_proj.weight`), nh * D, bias('q_proj'));
        k = lin(h, W(w, `${L}self_attn.k_proj.weight`), nkv * D, bias('k_proj'));
        v = lin(h, W(w, `${L}self_attn.v_proj.weight`), nkv * D, bias('v_proj'));
      }
      const heads = (x: number[], n: number) => Array.from({ length: n }, (_, i) => x.slice(i * D, (i + 1) * D));
      let qh = heads(q, nh);
      let kh = heads(k, nkv);
      if (cfg.qkNorm) {
        qh = qh.map((x) => rms(x, W(w, `${L}self_attn.q_norm.weight`), cfg.normEps));
        kh = kh.map((x) => rms(x, W(w, `${L}self_attn.k_norm.weight`), cfg.normEps));
      }
      if (!gpt) {
        qh = qh.map((x) => rope(x, positions[t]!, cfg.ropeTheta));
        kh = kh.map((x) => rope(x, positions[t]!, cfg.ropeTheta));
      }
      qs.push(qh);
      ks.push(kh);
      vs.push(heads(v, nkv));
    }
    const next: number[][] = [];
    for (let t = 0; t < T; t++) {
      const o: number[] = [];
      for (let hd = 0; hd < nh; hd++) {
        const kvh = Math.floor(hd / (nh / nkv));
        const allowed: number[] = [];
        for (let j = 0; j <= t; j++) if (mask[j]) allowed.push(j);
        if (allowed.length === 0) allowed.push(t);
        const sc = allowed.map((j) => qs[t]![hd]!.reduce((a, x, i) => a + x * ks[j]![kvh]![i]!, 0) / Math.sqrt(D));
        const mx = Math.max(...sc);
        const e = sc.map((s) => Math.exp(s - mx));
        const z = e.reduce((a, x) => a + x, 0);
        for (let i = 0; i < D; i++) o.push(allowed.reduce((a, j, n) => a + (e[n]! / z) * vs[j]![kvh]![i]!, 0));
      }
      let x = xs[t]!;
      if (gpt) {
        const a = conv1d(o, W(w, `${L}attn.c_proj.weight`), H, W(w, `${L}attn.c_proj.bias`));
        x = x.map((v, i) => v + a[i]!);
        const h = ln(x, W(w, `${L}ln_2.weight`), W(w, `${L}ln_2.bias`), cfg.normEps);
        const m = conv1d(h, W(w, `${L}mlp.c_fc.weight`), cfg.intermediateSize, W(w, `${L}mlp.c_fc.bias`)).map(gelu);
        const d = conv1d(m, W(w, `${L}mlp.c_proj.weight`), H, W(w, `${L}mlp.c_proj.bias`));
        x = x.map((v, i) => v + d[i]!);
      } else {
        const a = lin(o, W(w, `${L}self_attn.o_proj.weight`), H, w.get(`${L}self_attn.o_proj.bias`)?.data);
        x = x.map((v, i) => v + a[i]!);
        const h = rms(x, W(w, `${L}post_attention_layernorm.weight`), cfg.normEps);
        const g = lin(h, W(w, `${L}mlp.gate_proj.weight`), cfg.intermediateSize).map(silu);
        const u = lin(h, W(w, `${L}mlp.up_proj.weight`), cfg.intermediateSize);
        const d = lin(g.map((v, i) => v * u[i]!), W(w, `${L}mlp.down_proj.weight`), H);
        x = x.map((v, i) => v + d[i]!);
      }
      next.push(x);
    }
    xs = next;
  }
  const head = cfg.tieWordEmbeddings ? emb : W(w, 'lm_head.weight');
  return xs.map((x) => {
    const h = gpt ? ln(x, W(w, `${p}ln_f.weight`), W(w, `${p}ln_f.bias`), cfg.normEps) : rms(x, W(w, 'model.norm.weight'), cfg.normEps);
    return lin(h, head, cfg.vocabSize);
  });
}
