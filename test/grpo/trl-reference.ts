/**
 * An independent float64 reference of TRL 1.10's GRPO advantages and loss, written from TRL's
 * published formulas (GRPOTrainer._generate_and_score_completions and _compute_loss) with plain
 * arrays, not from TabZero's code. Torch semantics kept where they matter: nanmean, TRL's nanstd
 * (Bessel-corrected over the non-NaN values, NaN for fewer than two), torch.quantile's linear
 * interpolation, and `detach` (terms computed from `lpStop`, which a finite difference leaves alone).
 */

export type Scale = 'group' | 'batch' | 'none';
export type Estimator = 'grpo' | 'rloo' | 'reinforce_pp';
export type Loss = 'grpo' | 'bnpo' | 'dr_grpo' | 'dapo' | 'cispo' | 'sapo';

const isNan = (x: number) => x !== x;

export function nanmean(xs: number[]): number {
  const v = xs.filter((x) => !isNan(x));
  return v.length === 0 ? NaN : v.reduce((a, b) => a + b, 0) / v.length;
}

/** TRL: variance = nanmean((x − nanmean(x))²) · count / (count − 1). */
export function nanstd(xs: number[]): number {
  const m = nanmean(xs);
  const count = xs.filter((x) => !isNan(x)).length;
  const variance = nanmean(xs.map((x) => (x - m) ** 2)) * (count / (count - 1));
  return count < 2 ? NaN : Math.sqrt(variance);
}

const isclose0 = (x: number) => Math.abs(x) <= 1e-8; // torch.isclose(x, 0): atol 1e-8; NaN → false

export interface RefAdvantages {
  rewards: number[];
  advantages: number[];
  frac_reward_zero_std: number;
  reward: number;
  reward_std: number;
  fnMean: number[];
  fnStd: number[];
}

/** scores[row][fn] (null = the function did not apply). */
export function refAdvantages(scores: (number | null)[][], weights: number[], G: number, scale: Scale | boolean, estimator: Estimator = 'grpo', aggregation: 'sum_then_normalize' | 'normalize_then_sum' = 'sum_then_normalize'): RefAdvantages {
  const sc: Scale = scale === true ? 'group' : scale === false ? 'none' : scale;
  const N = scores.length;
  const K = weights.length;
  const perFunc = scores.map((row) => row.map((v) => (v === null ? NaN : v)));
  const unscorable = perFunc.map((row) => row.every(isNan));
  const nansumWeighted = (row: number[]) => row.reduce((a, v, k) => (isNan(v) ? a : a + v * weights[k]!), 0);
  let advantages: number[];
  let stdUsed: number[];
  if (aggregation === 'sum_then_normalize') {
    const rewards = perFunc.map((row, i) => (unscorable[i] ? NaN : nansumWeighted(row)));
    const groupOf = (i: number) => rewards.slice(Math.floor(i / G) * G, Math.floor(i / G) * G + G);
    const groupStd = rewards.map((_, i) => nanstd(groupOf(i)));
    stdUsed = sc === 'batch' ? rewards.map(() => nanstd(rewards)) : groupStd;
    let centred: number[];
    if (estimator === 'rloo') {
      centred = rewards.map((r, i) => {
        const others = groupOf(i).filter((_, j) => Math.floor(i / G) * G + j !== i).filter((x) => !isNan(x));
        return others.length === 0 ? NaN : r - others.reduce((a, b) => a + b, 0) / others.length;
      });
    } else centred = rewards.map((r, i) => r - nanmean(groupOf(i)));
    if (estimator === 'reinforce_pp') {
      const m = nanmean(centred);
      const s = nanstd(centred);
      advantages = centred.map((a) => (a - m) / (s + 1e-4));
    } else advantages = sc === 'none' ? centred : centred.map((a, i) => a / (stdUsed[i]! + 1e-4));
  } else {
    const normalised = perFunc.map((row, i) =>
      row.map((v, k) => {
        const col = perFunc.slice(Math.floor(i / G) * G, Math.floor(i / G) * G + G).map((r) => r[k]!);
        return (v - nanmean(col)) / (nanstd(col) + 1e-4);
      }),
    );
    const rewards = normalised.map((row, i) => (unscorable[i] ? NaN : nansumWeighted(row)));
    const s = nanstd(rewards);
    advantages = rewards.map((r) => (r - nanmean(rewards)) / (s + 1e-4));
    stdUsed = rewards.map(() => s);
  }
  const logged = perFunc.map((row, i) => (unscorable[i] ? NaN : nansumWeighted(row)));
  return {
    rewards: logged,
    advantages: advantages.map((a) => (isNan(a) ? 0 : a)),
    frac_reward_zero_std: stdUsed.filter(isclose0).length / N,
    reward: nanmean(logged),
    reward_std: nanstd(logged),
    fnMean: Array.from({ length: K }, (_, k) => nanmean(perFunc.map((r) => r[k]!))),
    fnStd: Array.from({ length: K }, (_, k) => nanstd(perFunc.map((r) => r[k]!))),
  };
}

export interface RefLossOptions {
  loss: Loss;
  epsilon: number;
  epsilonHigh: number;
  delta: number | null;
  beta: number;
  level: 'token' | 'sequence';
  biasCorrectionKl: boolean;
  topEntropyQuantile: number;
  tauPos: number;
  tauNeg: number;
  entropyCoef: number;
  maxCompletionLength: number;
}

export interface RefLossInputs {
  /** null: old = detach(lp) (μ = 1). */
  old: number[][] | null;
  ref: number[][] | null;
  adv: number[];
  mask: number[][];
  entropy: number[][];
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const pos = q * (s.length - 1);
  const lo = Math.floor(pos);
  const hi = Math.ceil(pos);
  return s[lo]! + (pos - lo) * (s[hi]! - s[lo]!);
}

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** TRL's loss for one micro-batch (one process, no gradient accumulation), with its logged metrics. */
export function refLoss(lp: number[][], lpStop: number[][], inp: RefLossInputs, o: RefLossOptions): { loss: number; metrics: Record<string, number> } {
  const B = lp.length;
  const T = lp[0]!.length;
  const m = inp.mask;
  const old = inp.old ?? lpStop;
  const maskSum = (i: number) => Math.max(1, m[i]!.reduce((a, b) => a + b, 0));
  const tokens = Math.max(1, m.flat().reduce((a, b) => a + b, 0));
  // log importance weights: [B][T] or [B][1]
  const logW = (src: number[][]) =>
    o.level === 'token' ? src.map((row, i) => row.map((x, t) => x - old[i]![t]!)) : src.map((row, i) => [row.reduce((a, x, t) => a + (x - old[i]![t]!) * m[i]![t]!, 0) / maskSum(i)]);
  const w = logW(lp).map((row) => row.map(Math.exp));
  const wStop = logW(lpStop).map((row) => row.map(Math.exp));
  const at = (x: number[][], i: number, t: number) => (x[i]!.length === 1 ? x[i]![0]! : x[i]![t]!);
  let entropyMask: number[][] | null = null;
  if (o.topEntropyQuantile < 1) {
    const vals = inp.entropy.flatMap((row, i) => row.filter((_, t) => m[i]![t]! > 0));
    const thr = quantile(vals, 1 - o.topEntropyQuantile);
    entropyMask = inp.entropy.map((row, i) => row.map((e, t) => (e * m[i]![t]! >= thr && m[i]![t]! > 0 ? 1 : 0)));
  }
  const per: number[][] = [];
  const kl: number[][] = [];
  const low: number[][] = [];
  const high: number[][] = [];
  const cispoClip: number[][] = [];
  for (let i = 0; i < B; i++) {
    per.push([]);
    kl.push([]);
    low.push([]);
    high.push([]);
    cispoClip.push([]);
    const A = inp.adv[i]!;
    for (let t = 0; t < T; t++) {
      const c1raw = at(w, i, t);
      let l: number;
      if (o.loss === 'cispo') {
        l = -Math.min(at(wStop, i, t), o.epsilonHigh) * A * lp[i]![t]!;
        cispoClip[i]!.push(at(wStop, i, t) > o.epsilonHigh && A > 0 ? 1 : 0);
      } else if (o.loss === 'sapo') {
        const tau = A > 0 ? o.tauPos : o.tauNeg;
        l = -sigmoid(tau * (c1raw - 1)) * (4 / tau) * A;
      } else {
        const c2 = Math.min(Math.max(c1raw, 1 - o.epsilon), 1 + o.epsilonHigh);
        const c1 = o.delta !== null ? Math.min(c1raw, o.delta) : c1raw;
        l = -Math.min(c1 * A, c2 * A);
        const c1s = o.delta !== null ? Math.min(at(wStop, i, t), o.delta) : at(wStop, i, t);
        low[i]!.push(c1s < 1 - o.epsilon && A < 0 ? 1 : 0);
        high[i]!.push(c1s > 1 + o.epsilonHigh && A > 0 ? 1 : 0);
      }
      if (entropyMask) l *= entropyMask[i]![t]!;
      if (o.beta !== 0) {
        const d = inp.ref![i]![t]! - lp[i]![t]!;
        let k = Math.exp(d) - d - 1;
        if (o.biasCorrectionKl) k *= c1raw;
        kl[i]!.push(k);
        l += o.beta * k;
      }
      per[i]!.push(l);
    }
  }
  const maskedSum = (x: number[][]) => x.reduce((a, row, i) => a + row.reduce((b, v, t) => b + v * m[i]![t]!, 0), 0);
  let loss: number;
  if (o.loss === 'grpo' || o.loss === 'sapo') loss = per.reduce((a, row, i) => a + row.reduce((b, v, t) => b + v * m[i]![t]!, 0) / maskSum(i), 0) / B;
  else if (o.loss === 'bnpo') loss = maskedSum(per) / tokens;
  else if (o.loss === 'dr_grpo') loss = maskedSum(per) / (B * o.maxCompletionLength);
  else loss = maskedSum(per) / tokens; // dapo, cispo: num_items_in_batch with one process
  const meanEntropy = maskedSum(inp.entropy) / tokens;
  loss -= o.entropyCoef * meanEntropy;
  // masked_batch_mean: a plain mean over rows for sequence-level weights, else over counted tokens.
  const batchMean = (x: number[][], seqShaped: boolean) => (seqShaped ? x.reduce((a, row) => a + row[0]!, 0) / B : maskedSum(x) / tokens);
  const seq = o.level === 'sequence';
  const metrics: Record<string, number> = { entropy: meanEntropy };
  if (o.beta !== 0) metrics.kl = maskedSum(kl) / tokens;
  if (o.loss === 'cispo') metrics.cispo_clip_ratio = batchMean(cispoClip, seq);
  else if (o.loss !== 'sapo') {
    metrics['clip_ratio/low_mean'] = batchMean(low, seq);
    metrics['clip_ratio/high_mean'] = batchMean(high, seq);
    metrics['clip_ratio/region_mean'] = batchMean(low.map((row, i) => row.map((v, t) => (v || high[i]![t]! ? 1 : 0))), seq);
  }
  return { loss, metrics };
}

/** d loss / d lp by central differences of the float64 reference (detached terms held fixed). */
export function refGradient(lp: number[][], inp: RefLossInputs, o: RefLossOptions, h = 1e-6): number[][] {
  return lp.map((row, i) =>
    row.map((_, t) => {
      const plus = lp.map((r) => [...r]);
      const minus = lp.map((r) => [...r]);
      plus[i]![t]! += h;
      minus[i]![t]! -= h;
      return (refLoss(plus, lp, inp, o).loss - refLoss(minus, lp, inp, o).loss) / (2 * h);
    }),
  );
}
