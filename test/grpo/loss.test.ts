import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import type { LossType } from '../../src/core/grpo/config';
import { grpoLoss, readLossMetrics, type LossOptions } from '../../src/core/grpo/loss';

beforeAll(async () => {
  await tf.setBackend('cpu');
});

// B = 2 sequences, T = 3 positions; row 0's last position is padding.
const NEW = [[-1.0, -0.5, -2.0], [-0.3, -1.2, -0.7]];
const OLD = [[-1.1, -0.9, -1.5], [-0.3, -1.0, -0.4]];
const REF = [[-1.2, -0.6, -1.0], [-0.5, -1.2, -0.2]];
const ENT = [[0.5, 0.7, 0.9], [1.1, 0.2, 0.4]];
const MASK = [[1, 1, 0], [1, 1, 1]];
const ADV = [1.5, -0.8];

function opts(lossType: LossType, extra: Partial<LossOptions> = {}): LossOptions {
  return { lossType, epsilon: 0.2, epsilonHigh: 0.28, beta: 0, entropyCoef: 0, maxCompletionLength: 4, ...extra };
}

function run(o: LossOptions, withOld = true, withRef = false, withEnt = false) {
  return tf.tidy(() => {
    const out = grpoLoss(
      {
        logprobs: tf.tensor2d(NEW),
        oldLogprobs: withOld ? tf.tensor2d(OLD) : null,
        refLogprobs: withRef ? tf.tensor2d(REF) : null,
        advantages: tf.tensor1d(ADV),
        mask: tf.tensor2d(MASK),
        entropy: withEnt ? tf.tensor2d(ENT) : null,
      },
      o,
    );
    return out;
  });
}

async function read(o: LossOptions, withOld = true, withRef = false, withEnt = false) {
  const out = run(o, withOld, withRef, withEnt);
  const loss = out.loss.dataSync()[0]!;
  out.loss.dispose();
  return { loss, ...(await readLossMetrics(out.metrics)) };
}

describe('grpoLoss', () => {
  it('with ratio ≡ 1 (μ = 1) equals −A aggregated by hand for every loss_type, clip fraction 0', async () => {
    // Every token's loss is −A: row 0 has 2 tokens of −1.5, row 1 three tokens of +0.8.
    const expected: Partial<Record<LossType, number>> = {
      grpo: (-1.5 + 0.8) / 2, // per-sequence means, then mean
      bnpo: (2 * -1.5 + 3 * 0.8) / 5, // all tokens / token count
      dapo: (2 * -1.5 + 3 * 0.8) / 5,
      dr_grpo: (2 * -1.5 + 3 * 0.8) / (2 * 4), // / (B × max_completion_length)
    };
    for (const lt of ['grpo', 'bnpo', 'dapo', 'dr_grpo'] as LossType[]) {
      const r = await read(opts(lt), false);
      expect(r.loss).toBeCloseTo(expected[lt]!, 6);
      expect(r['clip_ratio/region_mean']).toBe(0);
      expect(r['clip_ratio/low_mean']).toBe(0);
      expect(r['clip_ratio/high_mean']).toBe(0);
    }
  });

  it('clipped surrogate matches a hand computation per loss_type', async () => {
    // Ratios (row 0): e^0.1 = 1.10517 (inside), e^0.4 = 1.49182 (> 1.28, A > 0: clipped to 1.28).
    // Row 1 (A = −0.8): e^0 = 1, e^−0.2 = 0.81873 (inside), e^−0.3 = 0.74082 (< 0.8, A < 0: clipped to 0.8).
    const row0 = [-Math.exp(0.1) * 1.5, -1.28 * 1.5];
    const row1 = [0.8, Math.exp(-0.2) * 0.8, 0.8 * 0.8];
    const sum = [...row0, ...row1].reduce((a, b) => a + b, 0);
    const grpo = ((row0[0]! + row0[1]!) / 2 + (row1[0]! + row1[1]! + row1[2]!) / 3) / 2;
    expect((await read(opts('grpo'))).loss).toBeCloseTo(grpo, 6);
    expect((await read(opts('bnpo'))).loss).toBeCloseTo(sum / 5, 6);
    expect((await read(opts('dapo'))).loss).toBeCloseTo(sum / 5, 6);
    expect((await read(opts('dr_grpo'))).loss).toBeCloseTo(sum / 8, 6);
    // numpy cross-check
    expect((await read(opts('grpo'))).loss).toBeCloseTo(-0.5452749938679702, 6);
    const m = await read(opts('grpo'));
    expect(m['clip_ratio/low_mean']).toBeCloseTo(1 / 5, 6);
    expect(m['clip_ratio/high_mean']).toBeCloseTo(1 / 5, 6);
    expect(m['clip_ratio/region_mean']).toBeCloseTo(2 / 5, 6);
  });

  it('adds β·k3 and subtracts entropy_coef·H per token (numpy reference)', async () => {
    const o = (lt: LossType) => opts(lt, { beta: 0.1, entropyCoef: 0.01 });
    expect((await read(o('grpo'), true, true, true)).loss).toBeCloseTo(-0.5477282558604866, 6);
    expect((await read(o('bnpo'), true, true, true)).loss).toBeCloseTo(-0.2985339510323762, 6);
    expect((await read(o('dr_grpo'), true, true, true)).loss).toBeCloseTo(-0.1865837193952351, 6);
    const m = await read(o('bnpo'), true, true, true);
    expect(m.kl).toBeCloseTo(0.03820403897841027, 6);
    expect(m.entropy).toBeCloseTo(0.58, 6);
  });

  it('k3 for one token equals exp(d) − d − 1 by hand, and KL = 0 when policy = reference', async () => {
    // Token (0,0): d = ref − logp = −0.2 → e^−0.2 + 0.2 − 1 = 0.0187307531.
    const one = tf.tidy(() =>
      grpoLoss(
        {
          logprobs: tf.tensor2d([[-1.0]]),
          oldLogprobs: null,
          refLogprobs: tf.tensor2d([[-1.2]]),
          advantages: tf.tensor1d([0]),
          mask: tf.tensor2d([[1]]),
          entropy: null,
        },
        opts('bnpo', { beta: 1 }),
      ),
    );
    one.loss.dispose();
    expect((await readLossMetrics(one.metrics)).kl).toBeCloseTo(Math.exp(-0.2) + 0.2 - 1, 7);

    const same = tf.tidy(() =>
      grpoLoss(
        {
          logprobs: tf.tensor2d(NEW),
          oldLogprobs: null,
          refLogprobs: tf.tensor2d(NEW),
          advantages: tf.tensor1d(ADV),
          mask: tf.tensor2d(MASK),
          entropy: null,
        },
        opts('grpo', { beta: 0.5 }),
      ),
    );
    same.loss.dispose();
    expect((await readLossMetrics(same.metrics)).kl).toBe(0);
  });

  it('gradient wrt logprobs matches central finite differences (every loss_type, KL and entropy on)', async () => {
    for (const lt of ['grpo', 'bnpo', 'dr_grpo'] as LossType[]) {
      const o = opts(lt, { beta: 0.1, entropyCoef: 0.01 });
      const f = (lp: tf.Tensor2D): tf.Scalar => {
        const out = grpoLoss(
          {
            logprobs: lp,
            oldLogprobs: tf.tensor2d(OLD),
            refLogprobs: tf.tensor2d(REF),
            advantages: tf.tensor1d(ADV),
            mask: tf.tensor2d(MASK),
            entropy: tf.tensor2d(ENT),
          },
          o,
        );
        for (const m of Object.values(out.metrics)) m.dispose();
        return out.loss;
      };
      const analytic = tf.tidy(() => tf.grad((x: tf.Tensor) => f(x as tf.Tensor2D))(tf.tensor2d(NEW)).arraySync() as number[][]);
      const h = 1e-3;
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 3; j++) {
          const at = (delta: number) =>
            tf.tidy(() => {
              const x = NEW.map((r) => [...r]);
              x[i]![j]! += delta;
              return f(tf.tensor2d(x)).dataSync()[0]!;
            });
          const fd = (at(h) - at(-h)) / (2 * h);
          expect(Math.abs(analytic[i]![j]! - fd)).toBeLessThan(2e-3);
        }
      }
      // Masked positions get no gradient.
      expect(analytic[0]![2]).toBe(0);
    }
  });

  it('with old = null the ratio is detached: d loss / d logp = −A / tokens (bnpo) by hand', async () => {
    const g = tf.tidy(() =>
      tf
        .grad((x: tf.Tensor) => {
          const out = grpoLoss(
            { logprobs: x as tf.Tensor2D, oldLogprobs: null, refLogprobs: null, advantages: tf.tensor1d(ADV), mask: tf.tensor2d(MASK), entropy: null },
            opts('bnpo'),
          );
          for (const m of Object.values(out.metrics)) m.dispose();
          return out.loss;
        })(tf.tensor2d(NEW))
        .arraySync() as number[][],
    );
    const e = [[-1.5 / 5, -1.5 / 5, 0], [0.8 / 5, 0.8 / 5, 0.8 / 5]];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 3; j++) expect(g[i]![j]).toBeCloseTo(e[i]![j]!, 6);
  });

  it('leaks no tensors', async () => {
    const before = tf.memory().numTensors;
    await read(opts('grpo', { beta: 0.1, entropyCoef: 0.1 }), true, true, true);
    expect(tf.memory().numTensors).toBe(before);
  });
});
