/**
 * TabZero's advantages, loss, gradient and logged metrics against the independent float64
 * reference of TRL 1.10's formulas in trl-reference.ts, over the whole option matrix, on
 * hand-checkable inputs (tied rewards, a zero-variance group, unscored rows) and seeded random ones.
 */
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { batchAdvantages } from '../../src/core/grpo/advantages';
import { validateConfig, type GRPOConfig, type LossType } from '../../src/core/grpo/config';
import { grpoLoss, readLossMetrics } from '../../src/core/grpo/loss';
import { lossOptions } from '../../src/core/grpo/update';
import { stepMetrics } from '../../src/core/grpo/step-metrics';
import type { Batch, Group } from '../../src/core/grpo/batch';
import { Rng } from '../../src/core/rng';
import { refAdvantages, refGradient, refLoss, type Estimator, type RefLossOptions } from './trl-reference';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

function close(actual: number, expected: number, tol: number, what: string): void {
  expect(Math.abs(actual - expected), `${what}: ${actual} vs ${expected}`).toBeLessThanOrEqual(tol * (1 + Math.abs(expected)));
}

/** Groups as the rollout makes them, from scores[row][fn]. */
function groupsOf(scores: (number | null)[][], G: number, names: string[]): Group[] {
  const out: Group[] = [];
  for (let s = 0; s < scores.length; s += G) {
    const rows = scores.slice(s, s + G);
    const perFunction: Record<string, (number | null)[]> = {};
    names.forEach((n, k) => (perFunction[n] = rows.map((r) => r[k]!)));
    out.push({ problem: { id: `p${s}`, task: 't', question: 'q', answer: 'a' }, prompt: 'q', promptIds: [1], scaffoldLevel: 0, tokens: rows.map(() => [3]), finish: rows.map(() => 'eos' as const), texts: rows.map(() => 'x'), rewards: rows.map(() => 0), perFunction });
  }
  return out;
}

// Two functions, G = 3: a group with an unscored row, a zero-variance group, a tie, a group one function skips, all unscored.
const HAND: (number | null)[][] = [
  [1, 0.5], [0, null], [null, null],
  [0.5, 0.5], [0.5, 0.5], [0.5, 0.5],
  [2, 1], [2, 1], [0, 0],
  [1, null], [0, null], [1, null],
  [null, null], [null, null], [3, 1],
];

function randomScores(rng: Rng, rows: number, K: number): (number | null)[][] {
  return Array.from({ length: rows }, () => Array.from({ length: K }, () => (rng.next() < 0.2 ? null : Math.round(rng.next() * 8) / 4)));
}

const SCALES = ['group', 'batch', 'none', true, false] as const;
const ESTIMATORS: Estimator[] = ['grpo', 'rloo', 'reinforce_pp'];

describe('advantages and reward metrics against TRL', () => {
  it('holds the issue’s worked examples', () => {
    const a = batchAdvantages(groupsOf([[1], [0], [null]], 3, ['f']), [1], validateConfig({ num_generations: 3 }));
    expect(a.advantages.map((x) => Number(x.toFixed(4)))).toEqual([0.707, -0.707, 0]);
    const cfg = validateConfig({ num_generations: 2 });
    const groups = groupsOf([[0], [1], [10], [11]], 2, ['f']);
    const trained = batchAdvantages(groups, [1], cfg);
    const batch: Batch = { groups, fresh: groups, dropped: [], generation: { seconds: 0, tokens: 0 }, scaffold: null, dynamicSampling: null };
    const m = stepMetrics(cfg, [1], batch, trained, { learningRate: 0, losses: null, seconds: 0 });
    expect(m.reward_std!.toFixed(4)).toBe('5.8023');
  });

  const cases: [string, (number | null)[][], number[], number][] = [
    ['hand', HAND, [1, 0.5], 3],
    ['random A', randomScores(new Rng(1), 24, 2), [1, 0.3], 4],
    ['random B', randomScores(new Rng(2), 16, 3), [0.5, 1, 2], 8],
  ];
  for (const [name, scores, weights, G] of cases) {
    it(`${name}: every scale_rewards × advantage_estimator × aggregation`, () => {
      const names = weights.map((_, k) => `f${k}`);
      const groups = groupsOf(scores, G, names);
      for (const scale of SCALES) {
        for (const estimator of ESTIMATORS) {
          for (const aggregation of ['sum_then_normalize', 'normalize_then_sum'] as const) {
            const what = `${String(scale)}/${estimator}/${aggregation}`;
            const cfg = validateConfig({ num_generations: G, scale_rewards: scale as never, advantage_estimator: estimator, multi_objective_aggregation: aggregation, prompts_per_step: scores.length / G });
            const ours = batchAdvantages(groups, weights, cfg);
            const ref = refAdvantages(scores, weights, G, scale, estimator, aggregation);
            ours.advantages.forEach((x, i) => close(x, ref.advantages[i]!, 1e-12, `${what} advantage ${i}`));
            close(ours.fracRewardZeroStd, ref.frac_reward_zero_std, 1e-12, `${what} frac_reward_zero_std`);
            const batch: Batch = { groups, fresh: groups, dropped: [], generation: { seconds: 0, tokens: 0 }, scaffold: null, dynamicSampling: null };
            const m = stepMetrics(cfg, weights, batch, ours, { learningRate: 0, losses: null, seconds: 0 });
            close(m.reward!, ref.reward, 1e-12, `${what} reward`);
            close(m.reward_std!, ref.reward_std, 1e-12, `${what} reward_std`);
            close(m.frac_reward_zero_std!, ref.frac_reward_zero_std, 1e-12, `${what} frac metric`);
            names.forEach((n, k) => {
              close(m[`rewards/${n}/mean`]!, ref.fnMean[k]!, 1e-12, `${what} ${n} mean`);
              close(m[`rewards/${n}/std`]!, ref.fnStd[k]!, 1e-12, `${what} ${n} std`);
            });
          }
        }
      }
    });
  }

  it('an unscored completion gets advantage 0 and leaves its group’s baseline alone', () => {
    const cfg = validateConfig({ num_generations: 3 });
    const withNull = batchAdvantages(groupsOf([[2], [4], [null]], 3, ['f']), [1], cfg).advantages;
    const without = batchAdvantages(groupsOf([[2], [4]], 2, ['f']), [1], validateConfig({ num_generations: 2 })).advantages;
    expect(withNull[2]).toBe(0);
    close(withNull[0]!, without[0]!, 1e-15, 'same baseline');
  });
});

const LOSS_TYPES: LossType[] = ['grpo', 'bnpo', 'dr_grpo', 'dapo', 'cispo', 'sapo'];
const CLIPS = [{}, { epsilon_high: 0.28 }, { delta: 1.5 }] as const;

/** Log-probs, old, ref and entropy for B rows of T positions; the mask pads some rows and drops one. */
function lossInputs(rng: Rng, B: number, T: number) {
  const rand = (lo: number, hi: number) => lo + (hi - lo) * rng.next();
  const lp = Array.from({ length: B }, () => Array.from({ length: T }, () => rand(-3, -0.05)));
  // Old log-probs near the new ones, some far enough that clipping matters.
  const old = lp.map((row) => row.map((x) => x + rand(-0.6, 0.6)));
  const ref = lp.map((row) => row.map((x) => x + rand(-0.5, 0.5)));
  const entropy = lp.map((row) => row.map(() => rand(0.1, 3)));
  const mask: number[][] = lp.map((_, i) => Array.from({ length: T }, (_, t) => (i === 1 ? 0 : t < T - (i % 3) ? 1 : 0)));
  return { lp, old, ref, entropy, mask };
}

function ourLoss(cfg: GRPOConfig, inp: ReturnType<typeof lossInputs>, adv: number[], mu2: boolean) {
  const lpT = tf.tensor2d(inp.lp);
  const tensors = { old: mu2 ? tf.tensor2d(inp.old) : null, ref: cfg.beta > 0 ? tf.tensor2d(inp.ref) : null, adv: tf.tensor1d(adv), mask: tf.tensor2d(inp.mask), entropy: tf.tensor2d(inp.entropy) };
  let metrics: ReturnType<typeof grpoLoss> | null = null;
  const grad = tf.grad((x: tf.Tensor) => {
    const out = grpoLoss({ logprobs: x as tf.Tensor2D, oldLogprobs: tensors.old, refLogprobs: tensors.ref, advantages: tensors.adv, mask: tensors.mask, entropy: tensors.entropy }, lossOptions(cfg));
    for (const m of Object.values(out.metrics)) tf.keep(m);
    metrics = out;
    return out.loss;
  })(lpT);
  const out = metrics as unknown as ReturnType<typeof grpoLoss>;
  const loss = grpoLoss({ logprobs: lpT, oldLogprobs: tensors.old, refLogprobs: tensors.ref, advantages: tensors.adv, mask: tensors.mask, entropy: tensors.entropy }, lossOptions(cfg));
  const result = { loss: loss.loss.dataSync()[0]!, grad: grad.arraySync() as number[][], out };
  for (const m of Object.values(loss.metrics)) m.dispose();
  loss.loss.dispose();
  grad.dispose();
  lpT.dispose();
  for (const t of Object.values(tensors)) t?.dispose();
  return result;
}

describe('loss, gradient and loss metrics against TRL', () => {
  for (const [name, seed] of [['hand-sized', 11], ['seeded random', 12]] as const) {
    it(`${name}: loss_type × scale_rewards × importance_sampling_level × β × clipping × μ (and top_entropy_quantile)`, async () => {
      const rng = new Rng(seed);
      const G = 3;
      const scores = seed === 11 ? HAND.slice(0, 9) : randomScores(rng, 9, 2);
      const inp = lossInputs(rng, 9, 5);
      let checked = 0;
      for (const loss_type of LOSS_TYPES)
        for (const scale of SCALES)
          for (const level of ['token', 'sequence'] as const)
            for (const beta of [0, 0.04])
              for (const clip of CLIPS)
                for (const mu2 of [false, true])
                  for (const q of [1, 0.6]) {
                    const what = `${loss_type}/${String(scale)}/${level}/β${beta}/${JSON.stringify(clip)}/μ${mu2 ? 2 : 1}/q${q}`;
                    const cfg = validateConfig({
                      loss_type, scale_rewards: scale as never, importance_sampling_level: level, beta, ...clip, num_iterations: mu2 ? 2 : 1,
                      top_entropy_quantile: q, num_generations: G, prompts_per_step: 3, entropy_coef: 0.01, max_completion_length: 6,
                      use_bias_correction_kl: beta > 0 && mu2, sapo_temperature_pos: 1, sapo_temperature_neg: 1.05,
                    });
                    const adv = refAdvantages(scores, [1, 0.5], G, scale).advantages;
                    const ours = ourLoss(cfg, inp, adv, mu2);
                    const o: RefLossOptions = {
                      loss: loss_type, epsilon: cfg.epsilon, epsilonHigh: cfg.epsilon_high ?? cfg.epsilon, delta: cfg.delta, beta, level, biasCorrectionKl: cfg.use_bias_correction_kl,
                      topEntropyQuantile: q, tauPos: 1, tauNeg: 1.05, entropyCoef: 0.01, maxCompletionLength: 6,
                    };
                    const refIn = { old: mu2 ? inp.old : null, ref: inp.ref, adv, mask: inp.mask, entropy: inp.entropy };
                    const ref = refLoss(inp.lp, inp.lp, refIn, o);
                    close(ours.loss, ref.loss, 2e-5, `${what} loss`);
                    const g = refGradient(inp.lp, refIn, o);
                    ours.grad.forEach((row, i) => row.forEach((x, t) => close(x, g[i]![t]!, 5e-4, `${what} grad[${i}][${t}]`)));
                    const nums = await readLossMetrics(ours.out.metrics);
                    const tokens = inp.mask.flat().reduce((a, b) => a + b, 0);
                    for (const [k, v] of Object.entries(ref.metrics)) {
                      const num = nums[k as keyof typeof nums];
                      expect(num, `${what} ${k} logged`).toBeDefined();
                      const den = ours.out.denominators[k as keyof typeof nums] === 'rows' ? inp.lp.length : tokens;
                      close(num! / den, v, 2e-5, `${what} ${k}`);
                    }
                    expect(Object.keys(nums).sort(), `${what} metric names`).toEqual(Object.keys(ref.metrics).sort());
                    checked++;
                  }
      expect(checked).toBe(6 * 5 * 2 * 2 * 3 * 2 * 2);
    }, 600_000);
  }
});
