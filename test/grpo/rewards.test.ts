import { afterAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../src/core/types';
import { RewardError, fromRewardFn, runRewards } from '../../src/core/rewards/runner';
import { createSandboxedReward, type SandboxedRewardFunction } from '../../src/core/rewards/sandbox';

const P: Problem = { id: 'p1', task: 'test', question: 'q', answer: '42' };
const problems = [P, P, P];
const completions = ['42', 'forty-two', '<answer>42</answer>'];

const exact = fromRewardFn({ name: 'exact', fn: (c, p) => (c === p.answer ? 1 : 0) });
const tagged = fromRewardFn({ name: 'tagged', fn: (c) => (c.includes('<answer>') ? 1 : null) });

async function rejection(p: Promise<unknown>): Promise<RewardError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(RewardError);
    return e as RewardError;
  }
  throw new Error('expected a RewardError');
}

describe('runRewards', () => {
  it('weighted nansum and per-function means over applicable completions (TRL semantics)', async () => {
    const r = await runRewards([exact, tagged], [1, 0.5], completions, problems);
    // exact: 1, 0, 0; tagged: null, null, 1 → totals 1, 0, 0.5.
    expect(r.rewards).toEqual([1, 0, 0.5]);
    expect(r.perFunction).toEqual({ exact: [1, 0, 0], tagged: [null, null, 1] });
    expect(r.means['rewards/exact/mean']).toBeCloseTo(1 / 3, 12);
    expect(r.means['rewards/tagged/mean']).toBe(1);
  });

  it.each([
    ['throws', () => { throw new Error('boom'); }, 'threw', /boom/],
    ['NaN', () => Number.NaN, 'nonfinite', /NaN/],
    ['Infinity', () => Number.POSITIVE_INFINITY, 'nonfinite', /Infinity/],
    ['a string', () => '1' as unknown as number, 'type', /string/],
    ['undefined', () => undefined as unknown as number, 'type', /return/],
  ])('a function that returns/does %s → RewardError naming it', async (_what, fn, kind, re) => {
    const bad = fromRewardFn({ name: 'bad', fn });
    const e = await rejection(runRewards([exact, bad], [1, 1], completions, problems));
    expect(e.rewardName).toBe('bad');
    expect(e.kind).toBe(kind);
    expect(e.message).toMatch(re);
    expect(e.message).toContain('"bad"');
  });

  it('a slow built-in is reported after the fact', async () => {
    const slow = fromRewardFn({ name: 'slow', fn: () => { const t = Date.now(); while (Date.now() - t < 30); return 0; } }, 10);
    const e = await rejection(runRewards([slow], [1], ['a'], [P]));
    expect(e.kind).toBe('timeout');
  });
});

describe('sandboxed user rewards (QuickJS in Node)', () => {
  const made: SandboxedRewardFunction[] = [];
  const make = async (name: string, source: string, timeLimitMs = 500) => {
    const s = await createSandboxedReward({ name, source }, { timeLimitMs });
    made.push(s);
    return s;
  };
  afterAll(() => made.forEach((s) => s.dispose()));

  it('scores completions and mixes with built-ins', async () => {
    const user = await make('len', '(completion, problem) => completion.length / 10 + (problem.answer === "42" ? 1 : 0)');
    const r = await runRewards([exact, user], [1, 1], completions, problems);
    expect(r.perFunction.len).toEqual([1.2, 1.9, 2.9].map((x) => expect.closeTo(x, 12)) as unknown as number[]);
    expect(r.rewards[0]).toBeCloseTo(2.2, 12);
  });

  it('interrupts an infinite loop, reports a timeout, and works again afterwards', async () => {
    const user = await make('loop', '(c) => { if (c === "spin") { while (true) {} } return 1; }', 300);
    const t0 = Date.now();
    const e = await rejection(runRewards([user], [1], ['ok', 'spin'], [P, P]));
    expect(e.kind).toBe('timeout');
    expect(e.rewardName).toBe('loop');
    expect(Date.now() - t0).toBeLessThan(3000);
    // A fresh worker replaces the killed one.
    const r = await runRewards([user], [1], ['ok'], [P]);
    expect(r.rewards).toEqual([1]);
  });

  it('reports a syntax error with its line and column in the user source', async () => {
    const user = await make('syn', '(c, p) => {\n  return c.length +;\n}');
    const e = await rejection(user.start());
    expect(e.kind).toBe('syntax');
    expect(e.line).toBe(2);
    expect(e.column).toBe(20);
    expect(e.message).toMatch(/line 2/);
  });

  it('reports a runtime throw with its line', async () => {
    const user = await make('thrower', '(c, p) => {\n  const x = null;\n  return x.y;\n}');
    const e = await rejection(runRewards([user], [1], ['a'], [P]));
    expect(e.kind).toBe('threw');
    expect(e.line).toBe(3);
    expect(e.message).toMatch(/TypeError/);
  });

  it('refuses non-numbers and NaN from user code', async () => {
    const s = await make('str', '() => "high"');
    expect((await rejection(runRewards([s], [1], ['a'], [P]))).kind).toBe('type');
    const n = await make('nan', '() => 0 / 0');
    expect((await rejection(runRewards([n], [1], ['a'], [P]))).kind).toBe('nonfinite');
    const notFn = await make('notfn', '42');
    expect((await rejection(notFn.start())).message).toMatch(/must evaluate to a function/);
  });

  it('has no network and no require', async () => {
    const s = await make('net', '() => (typeof fetch === "undefined" && typeof require === "undefined" ? 1 : 0)');
    expect((await runRewards([s], [1], ['a'], [P])).rewards).toEqual([1]);
  });
});

