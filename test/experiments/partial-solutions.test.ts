/** SPARKLE's static partial-solution augmentation: 4 prefixes per hard problem, cut where the paper cuts. */
import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/core/rng';
import { createTask } from '../../src/core/tasks/index';
import { renderPrompt } from '../../src/core/tasks/prompt';
import { augmentWithPartialSolutions, paperChunks, partialPrefix, PartialSolutionError, solutionUnits, withPartialPrefix } from '../../src/core/tasks/partial-solutions';
import { overlapsProbeSet } from '../../src/core/experiments/runner';
import { listSource, mixRenderer } from '../../src/core/experiments/prompts';
import type { Problem } from '../../src/core/types';

const hardTask = createTask({ kind: 'toy-world', difficulty: 4 });

describe('paperChunks', () => {
  it('cuts on paragraphs when there are at least 4, the earlier chunks taking the remainder', () => {
    const sol = 'A one.\n\nB two.\n\nC three.\n\nD four.\n\nE five.';
    expect(solutionUnits(sol).by).toBe('paragraph');
    expect(paperChunks(sol)).toEqual(['A one.\n\nB two.', 'C three.', 'D four.', 'E five.']);
  });
  it('cuts on sentences otherwise; a decimal point is not a sentence end', () => {
    const sol = 'It is 2.5 kg. Then 3 more. So 5.5 kg! Is it? Yes. Done.';
    expect(solutionUnits(sol)).toEqual({ units: ['It is 2.5 kg.', 'Then 3 more.', 'So 5.5 kg!', 'Is it?', 'Yes.', 'Done.'], by: 'sentence' });
    expect(paperChunks(sol)).toEqual(['It is 2.5 kg. Then 3 more.', 'So 5.5 kg! Is it?', 'Yes.', 'Done.']);
  });
  it('refuses a solution with fewer than 4 units, in words', () => {
    expect(() => paperChunks('One. Two. Three.')).toThrow(PartialSolutionError);
    expect(() => paperChunks('One. Two. Three.')).toThrow(/3 sentences; 4 are needed/);
  });
});

describe('augmentWithPartialSolutions on hard toy-world problems', () => {
  const hard = hardTask.sample(new Rng(5), 40);
  const aug = augmentWithPartialSolutions(hard);

  it('builds the original plus exactly 4 prefixes per problem', () => {
    expect(aug).toHaveLength(hard.length * 5);
    hard.forEach((p, i) => {
      const group = aug.slice(i * 5, i * 5 + 5);
      expect(group[0]).toBe(p);
      expect(group.map((q) => q.id)).toEqual([p.id, `${p.id}#partial1`, `${p.id}#partial2`, `${p.id}#partial3`, `${p.id}#partial4`]);
      expect(group.every((q) => q.answer === p.answer && q.question === p.question)).toBe(true);
    });
  });

  it('level i is the first i sentences of the solution (a difficulty-4 solution has one sentence per step)', () => {
    hard.forEach((p, i) => {
      const sentences = p.solution!.split(/(?<=\.)\s+/);
      expect(sentences).toHaveLength(4);
      for (let level = 1; level <= 4; level++) {
        expect(partialPrefix(aug[i * 5 + level]!)).toBe(sentences.slice(0, level).join(' '));
      }
      expect(partialPrefix(aug[i * 5]!)).toBeUndefined();
    });
  });

  it('puts the prefix right after the think-open tag of the prompt', () => {
    const render = withPartialPrefix((p: Problem, o: { scaffoldLevel?: number }) => renderPrompt(p, o));
    const q = aug[3]!;
    expect(render(q, {})).toBe(`${renderPrompt(q)} ${partialPrefix(q)}`);
    expect(render(q, {}).endsWith(`<think> ${partialPrefix(q)}`)).toBe(true);
    // The experiments' renderer does the same.
    expect(mixRenderer({ plain: 1, plan: 0, knowledge: 0 }, 1)(q, {})).toBe(render(q, {}));
  });

  it('is disjoint from the probe set', () => {
    const toy = createTask({ kind: 'toy-world' });
    expect(overlapsProbeSet(aug, toy, 1234, 300)).toEqual([]);
    expect(overlapsProbeSet(aug, hardTask, 1234, 300)).toEqual([]);
    // The check itself can fail: the probe set overlaps itself.
    expect(overlapsProbeSet(hardTask.probeSet(1234, 5), hardTask, 1234, 300)).toHaveLength(5);
  });
});

describe('experiment prompt sources', () => {
  it('listSource draws every problem once per pass', () => {
    const ps = hardTask.sample(new Rng(1), 6);
    const src = listSource(ps);
    const got = src.sample(new Rng(2), 12).map((p) => p.id);
    expect(new Set(got.slice(0, 6))).toEqual(new Set(ps.map((p) => p.id)));
    expect(new Set(got.slice(6))).toEqual(new Set(ps.map((p) => p.id)));
  });
  it('mixRenderer draws plain, +plan and +knowledge in proportion and reproducibly', () => {
    const p = hardTask.sample(new Rng(3), 1)[0]!;
    const draw = (seed: number) => Array.from({ length: 3000 }, () => 0).map(((r) => () => r(p, {}))(mixRenderer({ plain: 1, plan: 1, knowledge: 2 }, seed)));
    const a = draw(9);
    expect(draw(9)).toEqual(a);
    const frac = (s: string) => a.filter((t) => t.includes(s)).length / a.length;
    expect(frac('Consider the following plan:')).toBeCloseTo(0.25, 1);
    expect(frac('The following facts may help:')).toBeCloseTo(0.5, 1);
    expect(a.filter((t) => t === renderPrompt(p)).length / a.length).toBeCloseTo(0.25, 1);
  });
});
