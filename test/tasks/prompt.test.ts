import { describe, expect, it } from 'vitest';
import { renderPrompt, renderTarget, splitSolution, PromptError } from '../../src/core/tasks/prompt';
import { generateToyProblems } from '../../src/core/tasks/toy-world';
import type { Problem } from '../../src/core/types';

const P: Problem = {
  id: 'x',
  task: 'toy-world',
  question: 'Sam has 3 crates. Sam unpacks the crates into jars. Sam loses 5 jars. How many jars does Sam have now?',
  answer: '13',
  plan: ['Find how many jars are in the crates.', 'Subtract the jars that are gone.'],
  knowledge: ['A crate holds 6 jars.'],
  solution: 'A crate holds 6 jars, so 3 crates hold 3 * 6 = 18 jars. 18 - 5 = 13 jars.',
};

describe('renderPrompt / renderTarget', () => {
  it('renders the exact text', () => {
    expect(renderPrompt(P)).toBe(`${P.question}\n<think>`);
    expect(renderPrompt(P, { plan: true, knowledge: true })).toBe(
      `${P.question}\nConsider the following plan: 1. Find how many jars are in the crates. 2. Subtract the jars that are gone.\nThe following facts may help: A crate holds 6 jars.\n<think>`,
    );
    expect(renderTarget(P)).toBe(' A crate holds 6 jars, so 3 crates hold 3 * 6 = 18 jars. 18 - 5 = 13 jars. </think> <answer>13</answer>');
    expect(renderPrompt(P, { scaffoldLevel: 4 })).toBe(`${P.question}\n<think> ${P.solution}`);
    expect(renderTarget(P, 4)).toBe(' </think> <answer>13</answer>');
  });

  it('prompt(level i) + target(level i) is the same text for every level', () => {
    for (const p of generateToyProblems(5, 300)) {
      const whole = renderPrompt(p, { knowledge: true }) + renderTarget(p, 0);
      for (let i = 1; i <= 4; i++) expect(renderPrompt(p, { knowledge: true, scaffoldLevel: i }) + renderTarget(p, i)).toBe(whole);
      expect(renderPrompt(p).endsWith('<think>')).toBe(true);
    }
  });

  it('without a solution the target is the bare answer tail; scaffolding it is an error', () => {
    const bare: Problem = { id: 'b', task: 'jsonl:x', question: 'What is 2+2?', answer: ' 4 ' };
    expect(renderTarget(bare)).toBe(' </think> <answer>4</answer>');
    expect(() => renderPrompt(bare, { scaffoldLevel: 2 })).toThrow(PromptError);
    expect(() => renderPrompt(P, { scaffoldLevel: 5 })).toThrow(/scaffoldLevel/);
  });
});

describe('splitSolution', () => {
  it('splits on sentences when there are at least 4', () => {
    expect(splitSolution('A b. C d. E f. G h. I j.')).toEqual(['A b.', 'C d.', 'E f. G h.', 'I j.']);
  });
  it('splits on words otherwise, and always gives 4 parts that rejoin to the text', () => {
    expect(splitSolution('one two three four five six seven eight')).toEqual(['one two', 'three four', 'five six', 'seven eight']);
    expect(splitSolution('a b')).toEqual(['a', 'b', '', '']);
    for (const p of generateToyProblems(9, 500)) {
      const parts = splitSolution(p.solution!);
      expect(parts).toHaveLength(4);
      expect(parts.filter((x) => x).join(' ')).toBe(p.solution);
      expect(parts.every((x) => x.length > 0)).toBe(true);
    }
  });
});
