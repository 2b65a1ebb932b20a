/**
 * AdamW (torch.optim.AdamW semantics: decoupled weight decay applied as p ← p·(1 − lr·wd) before
 * the Adam step, bias-corrected moments, ε outside the square root), global-norm gradient clipping
 * (torch.nn.utils.clip_grad_norm_), and transformers' LR schedules with linear warmup.
 * tfjs's own AdamOptimizer couples weight decay and can't refuse a NaN gradient before touching
 * the weights, hence this one.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { LrSchedulerType } from './config';
import { adamWMoment, adamWWeight, webgpuAdamWAvailable } from '../kernels/webgpu-adamw';

export class NonFiniteError extends Error {
  constructor(
    readonly what: 'loss' | 'gradient',
    readonly detail: string,
  ) {
    super(
      `The ${what} is not finite (${detail}); the step was skipped and the weights are unchanged. ` +
        'Lower learning_rate, set max_grad_norm, or check the reward functions for extreme values.',
    );
    this.name = 'NonFiniteError';
  }
}

export interface AdamWOptions {
  beta1: number;
  beta2: number;
  epsilon: number;
  weightDecay: number;
  /** 0 = no clipping (the norm is still computed and reported). */
  maxGradNorm: number;
  /**
   * Which variables get weight decay. transformers' Trainer leaves biases and norm weights out;
   * the default does the same by name.
   */
  decays?: (name: string) => boolean;
}

const defaultDecays = (name: string): boolean => !/(bias|norm|ln_)/i.test(name);

export interface StepReport {
  /** Global L2 norm of the gradients before clipping (TRL's grad_norm). */
  gradNorm: number;
}

export class AdamW {
  private readonly m = new Map<string, tf.Variable>();
  private readonly v = new Map<string, tf.Variable>();
  private t = 0;

  /**
   * Moments are allocated here, not lazily, so that tensor counts stay constant across steps.
   * `vars` maps a stable name (the gradient map's key) to the variable.
   */
  constructor(
    private readonly vars: ReadonlyMap<string, tf.Variable>,
    private opts: AdamWOptions,
  ) {
    for (const [name, p] of vars) {
      // tf.variable keeps its own copy: the zeros it was made from must go, or every moment costs twice.
      const zeros = () => tf.tidy(() => tf.variable(tf.zerosLike(p), false));
      this.m.set(name, zeros());
      this.v.set(name, zeros());
    }
  }

  /** New hyper-parameters between steps; the moments are kept. */
  setOptions(opts: AdamWOptions): void {
    this.opts = opts;
  }

  get stepCount(): number {
    return this.t;
  }

  /**
   * Clip and apply one step. Everything that can fail is checked before the first assignment, so
   * a NonFiniteError leaves weights, moments and the step count as they were. Does not dispose `grads`.
   * Async because the norm is read back with data(): WebGPU has no synchronous readback.
   */
  async step(grads: Readonly<Record<string, tf.Tensor>>, lr: number): Promise<StepReport> {
    for (const name of this.vars.keys()) {
      if (!grads[name]) throw new Error(`AdamW.step: no gradient for "${name}"`);
    }
    // Not tf.addN: on tfjs-webgpu 4.22 (Dawn, llvmpipe) addN of 20 scalars returns 0.
    const sq = tf.tidy(() => tf.sum(tf.stack([...this.vars.keys()].map((n) => tf.sum(tf.square(grads[n]!))))));
    let gradNorm: number;
    try {
      gradNorm = Math.sqrt((await sq.data())[0]!);
    } finally {
      sq.dispose();
    }
    if (!Number.isFinite(gradNorm)) throw new NonFiniteError('gradient', `global norm ${gradNorm}`);

    // torch: clip_coef = max_norm / (norm + 1e-6), applied only when < 1.
    const clip = this.opts.maxGradNorm > 0 ? Math.min(1, this.opts.maxGradNorm / (gradNorm + 1e-6)) : 1;
    this.t += 1;
    const { beta1: b1, beta2: b2, epsilon: eps, weightDecay: wd } = this.opts;
    const bc1 = 1 - b1 ** this.t;
    const bc2 = 1 - b2 ** this.t;
    const decays = this.opts.decays ?? defaultDecays;
    // WebGPU: the same arithmetic in three dispatches per variable (kernels/webgpu-adamw).
    const fused = webgpuAdamWAvailable();
    for (const [name, p] of this.vars) {
      tf.tidy(() => {
        if (fused) {
          const m = this.m.get(name)!;
          const v = this.v.get(name)!;
          m.assign(adamWMoment(m, grads[name]!, b1, clip, false));
          v.assign(adamWMoment(v, grads[name]!, b2, clip, true));
          const decay = wd > 0 && decays(name) ? 1 - lr * wd : 1;
          p.assign(adamWWeight(p, m, v, { decay, bc1, bc2, eps, lr }));
          return;
        }
        const g = clip < 1 ? tf.mul(grads[name]!, clip) : grads[name]!;
        const m = this.m.get(name)!;
        const v = this.v.get(name)!;
        m.assign(tf.add(tf.mul(m, b1), tf.mul(g, 1 - b1)));
        v.assign(tf.add(tf.mul(v, b2), tf.mul(tf.square(g), 1 - b2)));
        const decayed = wd > 0 && decays(name) ? tf.mul(p, 1 - lr * wd) : p;
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        p.assign(tf.sub(decayed, tf.mul(update, lr)));
      });
    }
    return { gradNorm };
  }

  /**
   * Moments read back to the host as m.<name> and v.<name>, each passed through `toSaved` first
   * (the caller's layout conversion, e.g. back to Hugging Face's [out, in]).
   */
  async exportState(toSaved: (name: string, t: tf.Tensor) => tf.Tensor = (_n, t) => t): Promise<{ step: number; tensors: Map<string, { shape: number[]; data: Float32Array }> }> {
    const tensors = new Map<string, { shape: number[]; data: Float32Array }>();
    for (const [prefix, moments] of [['m', this.m], ['v', this.v]] as const) {
      for (const [name, x] of moments) {
        const t = toSaved(name, x);
        tensors.set(`${prefix}.${name}`, { shape: [...t.shape], data: Float32Array.from((await t.data()) as Float32Array) });
        if (t !== x) t.dispose();
      }
    }
    return { step: this.t, tensors };
  }

  /** The inverse of exportState; `fromSaved` converts a saved tensor to this model's layout. */
  importState(step: number, tensors: ReadonlyMap<string, { shape: number[]; data: Float32Array }>, fromSaved: (name: string, t: tf.Tensor) => tf.Tensor = (_n, t) => t): void {
    const staged: [tf.Variable, tf.Tensor][] = [];
    try {
      for (const [prefix, moments] of [['m', this.m], ['v', this.v]] as const) {
        for (const [name, x] of moments) {
          const h = tensors.get(`${prefix}.${name}`);
          if (!h) throw new Error(`The optimizer state lacks ${prefix}.${name}; the checkpoint does not belong to this model.`);
          const t = tf.tidy(() => fromSaved(name, tf.tensor(h.data, h.shape, 'float32')));
          staged.push([x, t]);
          if (t.shape.join() !== x.shape.join()) {
            throw new Error(`The optimizer state's ${prefix}.${name} has shape [${t.shape.join(', ')}] but the model's is [${x.shape.join(', ')}].`);
          }
        }
      }
      // Checked everything first: a bad checkpoint leaves the optimizer as it was.
      for (const [x, t] of staged) x.assign(t);
      this.t = step;
    } finally {
      for (const [, t] of staged) t.dispose();
    }
  }

  dispose(): void {
    for (const x of this.m.values()) x.dispose();
    for (const x of this.v.values()) x.dispose();
    this.m.clear();
    this.v.clear();
  }
}

/**
 * LR at a 0-based optimizer step, as transformers' get_scheduler: warmup = ceil(ratio × total)
 * steps rising linearly from 0, then constant, linear decay to 0, or half-cosine to 0.
 */
export function learningRateAt(step: number, peak: number, type: LrSchedulerType, totalSteps: number, warmupRatio: number): number {
  const warmup = Math.ceil(warmupRatio * totalSteps);
  if (step < warmup) return (peak * step) / Math.max(1, warmup);
  if (type === 'constant') return peak;
  const progress = (step - warmup) / Math.max(1, totalSteps - warmup);
  if (type === 'linear') return peak * Math.max(0, 1 - progress);
  return peak * Math.max(0, 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}
