import { describe, expect, it } from 'vitest';
import { runProbes, runProbesDetailed, ProbeError, type CompleteFn } from '../../src/core/probes/run';
import { wilson } from '../../src/core/probes/stats';
import { renderPrompt, renderTarget } from '../../src/core/tasks/prompt';
import { generateToyProblems } from '../../src/core/tasks/toy-world';
import type { Problem } from '../../src/core/types';

const right = (a: string): string => ` ... </think> <answer>${a}</answer>`;
const wrong = ' ... </think> <answer>-1</answer>';

function problem(i: number): Problem {
  return {
    id: `p${i}`,
    task: 'toy-world',
    question: `Question ${i}?`,
    answer: String(10 + i),
    plan: [`Plan ${i}.`],
    knowledge: [`Fact ${i}.`],
    subproblems: [
      { question: `Sub ${i} a?`, answer: String(i) },
      { question: `Sub ${i} b?`, answer: String(10 + i) },
    ],
  };
}

/** A fake model: a table from prompt to the completions it returns. */
function fake(table: Map<string, string[]>, calls: { prompts: string[]; temperature: number; samples: number }[] = []): CompleteFn {
  return async (prompts, opts) => {
    calls.push({ prompts, temperature: opts.temperature, samples: opts.samples });
    return prompts.map((p) => {
      const c = table.get(p);
      if (!c) throw new Error(`unexpected prompt ${p}`);
      return c.slice(0, opts.samples);
    });
  };
}

describe('runProbes', () => {
  const ps = [0, 1, 2, 3].map(problem);
  const sub = (i: number, j: number): string => renderPrompt({ id: '', task: 'toy-world', question: ps[i]!.subproblems![j]!.question, answer: '' });

  it('greedy: hand-computed accuracies, effects and intervals', async () => {
    const t = new Map<string, string[]>();
    // plain: p0, p1, p2 right (3/4); plan: only p0 (1/4); knowledge: all (4/4)
    ps.forEach((p, i) => {
      t.set(renderPrompt(p), [i < 3 ? right(p.answer) : wrong]);
      t.set(renderPrompt(p, { plan: true }), [i === 0 ? right(p.answer) : wrong]);
      t.set(renderPrompt(p, { knowledge: true }), [right(p.answer)]);
      // subproblems: p0 both right; p1 first right only; p2 second only; p3 both right -> 2/4
      t.set(sub(i, 0), [i === 0 || i === 1 || i === 3 ? right(String(i)) : wrong]);
      t.set(sub(i, 1), [i === 0 || i === 2 || i === 3 ? right(p.answer) : wrong]);
    });
    const calls: { prompts: string[]; temperature: number; samples: number }[] = [];
    const r = await runProbes(fake(t, calls), ps, { step: 7 });
    expect(calls).toHaveLength(1);
    expect(calls[0]!.prompts).toHaveLength(20);
    expect(calls[0]!.temperature).toBe(0);
    expect(calls[0]!.samples).toBe(1);
    expect(r.step).toBe(7);
    expect(r.plain).toEqual({ acc: 0.75, ...wilson(3, 4), n: 4 });
    expect(r.plain.lo).toBeCloseTo(0.30064, 4);
    expect(r.plan).toEqual({ acc: 0.25, ...wilson(1, 4), n: 4 });
    expect(r.knowledge).toEqual({ acc: 1, ...wilson(4, 4), n: 4 });
    expect(r.subproblems).toEqual({ acc: 0.5, ...wilson(2, 4), n: 4 });
    expect(r.planEffect).toBeCloseTo(-0.5, 12);
    expect(r.knowledgeEffect).toBeCloseTo(0.25, 12);
    expect(r.passAtK).toBeUndefined();
  });

  it('sampled: Avg@k, subproblem chains per sample, pass@k', async () => {
    const t = new Map<string, string[]>();
    ps.forEach((p, i) => {
      // plain: p_i has i right out of 4 samples -> Avg@4 = (0+1+2+3)/16 = 0.375
      t.set(renderPrompt(p), [0, 1, 2, 3].map((s) => (s < i ? right(p.answer) : wrong)));
      t.set(renderPrompt(p, { plan: true }), [right(p.answer), wrong, wrong, wrong]); // 0.25 each
      t.set(renderPrompt(p, { knowledge: true }), [right(p.answer), right(p.answer), wrong, wrong]); // 0.5 each
      // sub a right in samples 0,1; sub b right in samples 1,2 -> only sample 1 chains: 0.25 each
      t.set(sub(i, 0), [right(String(i)), right(String(i)), wrong, wrong]);
      t.set(sub(i, 1), [wrong, right(p.answer), right(p.answer), wrong]);
    });
    const { report: r, rows } = await runProbesDetailed(fake(t), ps, { mode: 'sampled', samples: 4, passK: 2, temperature: 0.7 });
    expect(r.plain.acc).toBeCloseTo(0.375, 12);
    // Problems as the unit: t-interval over the per-problem means 0, .25, .5, .75 (sd .32275, t(3) = 3.1824).
    expect(r.plain.lo).toBe(0);
    expect(r.plain.hi).toBeCloseTo(0.375 + (3.1824 * 0.3227486) / 2, 5);
    // Every problem has the same +plan accuracy: no spread, so the Wilson interval over 4 problems.
    expect(r.plan.lo).toBeCloseTo(wilson(1, 4).lo, 12);
    expect(r.mode).toBe('avg@k');
    expect(r.samples).toBe(4);
    expect(r.temperature).toBe(0.7);
    // Plan effect per problem: .25 − (0, .25, .5, .75) = .25, 0, −.25, −.5; mean −.125, sd .32275.
    expect(r.planEffectCI!.lo).toBeCloseTo(-0.125 - (3.1824 * 0.3227486) / 2, 5);
    expect(r.planEffectCI!.hi).toBeCloseTo(-0.125 + (3.1824 * 0.3227486) / 2, 5);
    expect(r.plan.acc).toBeCloseTo(0.25, 12);
    expect(r.knowledge.acc).toBeCloseTo(0.5, 12);
    expect(r.subproblems.acc).toBeCloseTo(0.25, 12);
    expect(r.planEffect).toBeCloseTo(-0.125, 12);
    expect(r.knowledgeEffect).toBeCloseTo(0.125, 12);
    // pass@2 with n=4: c=0 -> 0, c=1 -> 1/2, c=2 -> 5/6, c=3 -> 1; mean = (0 + .5 + 5/6 + 1)/4
    expect(r.passAtK!.k).toBe(2);
    expect(r.passAtK!.value).toBeCloseTo((0 + 0.5 + 5 / 6 + 1) / 4, 12);
    expect(rows.map((x) => x.plainCorrect)).toEqual([0, 1, 2, 3]);
  });

  it('problems without annotations: plan/knowledge/subproblem scores have n = 0 and effects 0', async () => {
    const bare: Problem[] = [{ id: 'a', task: 'jsonl:x', question: 'A?', answer: '1' }, { id: 'b', task: 'jsonl:x', question: 'B?', answer: '2' }];
    const t = new Map([[renderPrompt(bare[0]!), [right('1')]], [renderPrompt(bare[1]!), [wrong]]]);
    const r = await runProbes(fake(t), bare);
    expect(r.plain.acc).toBe(0.5);
    expect(r.plan).toEqual({ acc: 0, lo: 0, hi: 1, n: 0 });
    expect(r.knowledge.n).toBe(0);
    expect(r.planEffectCI).toBeUndefined();
    expect(r.mode).toBe('greedy');
    expect(r.subproblems.n).toBe(0);
    expect(r.planEffect).toBe(0);
  });

  it('a perfect model scores 1 everywhere on generated toy problems', async () => {
    const probs = generateToyProblems(4, 60);
    const answers = new Map<string, string>();
    for (const p of probs) {
      for (const o of [{}, { plan: true }, { knowledge: true }]) answers.set(renderPrompt(p, o), renderTarget(p));
      for (const s of p.subproblems!) answers.set(renderPrompt({ id: '', task: p.task, question: s.question, answer: '' }), renderTarget({ id: '', task: p.task, question: '', answer: s.answer }));
    }
    const r = await runProbes(async (prompts) => prompts.map((x) => [answers.get(x)!]), probs);
    for (const s of [r.plain, r.plan, r.knowledge, r.subproblems]) expect(s.acc).toBe(1);
  });

  it('typed errors for an empty set and a completer that returns the wrong shape', async () => {
    await expect(runProbes(async () => [], [])).rejects.toThrow(ProbeError);
    await expect(runProbes(async () => [], ps)).rejects.toThrow(/expected 20 × 1/);
  });
});

describe('byDifficulty', () => {
  it('groups rows and averages each condition, skipping nulls', async () => {
    const { byDifficulty } = await import('../../src/core/probes/table');
    const rows = [
      { id: 'a', difficulty: 2, plain: 1, plan: 0, knowledge: null, subproblems: 1, plainCorrect: 1 },
      { id: 'b', difficulty: 1, plain: 0, plan: 1, knowledge: 1, subproblems: null, plainCorrect: 0 },
      { id: 'c', difficulty: 2, plain: 0, plan: 1, knowledge: null, subproblems: 0, plainCorrect: 0 },
      { id: 'd', difficulty: undefined, plain: 0.5, plan: null, knowledge: null, subproblems: null, plainCorrect: 1 },
    ];
    expect(byDifficulty(rows)).toEqual([
      { difficulty: 1, n: 1, plain: 0, plan: 1, knowledge: 1, subproblems: null },
      { difficulty: 2, n: 2, plain: 0.5, plan: 0.5, knowledge: null, subproblems: 0.5 },
      { difficulty: null, n: 1, plain: 0.5, plan: null, knowledge: null, subproblems: null },
    ]);
  });
});
