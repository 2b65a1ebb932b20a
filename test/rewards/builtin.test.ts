import { describe, expect, it } from 'vitest';
import { BUILTIN_REWARDS, builtinReward, isCorrect, isWellFormatted, UnknownRewardError } from '../../src/core/rewards/builtin';
import { answersMatch, extractAnswer, parseNumber } from '../../src/core/rewards/extract';
import { renderTarget } from '../../src/core/tasks/prompt';
import { generateToyProblems } from '../../src/core/tasks/toy-world';
import type { Problem } from '../../src/core/types';

const TOY: Problem = { id: 't', task: 'toy-world', question: 'q', answer: '13' };
const CD: Problem = { id: 'c', task: 'countdown', question: 'q', answer: '44 + 19 + 35', meta: { numbers: [44, 19, 35], target: 98 } };

describe('extractAnswer', () => {
  const cases: [string, string | null][] = [
    [' 18 - 5 = 13 jars. </think> <answer>13</answer>', '13'],
    ['<answer> 12 </answer> then <answer>13</answer>', '13'], // two answers: the last
    ['<answer>12</answer> <answer>13', '12'], // unclosed last: the last complete one
    ['<answer>12 <answer>13</answer>', '13'], // nested open: the innermost
    ['so it is 1,000 jars', '1,000'], // no tags: the last number
    ['it is 42.', '42'],
    ['no numbers here', null],
    ['<answer>   </answer>', null],
    ['<answer>thirteen</answer>', 'thirteen'],
    ['', null],
    ['3 crates, 5 jars,', '5'],
  ];
  for (const [text, want] of cases) it(JSON.stringify(text), () => expect(extractAnswer(text)).toBe(want));
});

describe('answersMatch / parseNumber', () => {
  it('matches numbers written differently', () => {
    for (const [a, b] of [['42', '42'], ['42.0', '42'], [' 42 ', '42'], ['1,000', '1000'], ['$5', '5'], ['5.', '5'], ['0.5', '1/2'], ['\\frac{1}{2}', '0.5'], ['-3', '-3'], ['50%', '50']]) {
      expect(answersMatch(a!, b!), `${a} vs ${b}`).toBe(true);
    }
  });
  it('rejects different or non-numeric answers', () => {
    for (const [a, b] of [['41', '42'], ['42', '4.2'], ['1,2', '12'], ['thirteen', '13'], ['', ''], ['13 jars', '13']]) {
      expect(answersMatch(a!, b!), `${a} vs ${b}`).toBe(false);
    }
    expect(answersMatch(null, '1')).toBe(false);
    expect(answersMatch('Paris', ' paris ')).toBe(true);
    expect(parseNumber('1e3')).toBe(1000);
    expect(parseNumber('12abc')).toBeNull();
  });
});

describe('format', () => {
  const good = [
    ' 3 * 6 = 18 jars. </think> <answer>18</answer>',
    '<think> reasoning </think><answer>18</answer>',
    ' r </think>\n<answer>18</answer>\n',
    ' r </think> <answer>18</answer></s>',
    ' r </think> <answer>18</answer><|endoftext|>',
    ' r </think> <answer>18</answer> <|im_end|>',
    '</think> <answer>18</answer>',
  ];
  const bad = [
    '18', // no tags
    ' r <answer>18</answer>', // no </think>
    ' r </think> 18', // no answer tags
    ' r </think> <answer>18</answer> and more text', // text after </answer>
    ' r </think> <answer>18</answer> <answer>19</answer>', // two answers
    ' r </think> <answer>18', // unclosed answer
    ' r </think> <answer></answer>', // empty answer
    ' r </think> </think> <answer>18</answer>', // two closes
    '<think> a <think> b </think> <answer>18</answer>', // nested think
    ' r <answer>1</answer> </think> <answer>18</answer>', // answer inside reasoning
  ];
  for (const g of good) it(`good: ${JSON.stringify(g)}`, () => expect(isWellFormatted(g)).toBe(true));
  for (const b of bad) it(`bad: ${JSON.stringify(b)}`, () => expect(isWellFormatted(b)).toBe(false));
});

describe('built-in rewards', () => {
  it('scores hand-written completions', () => {
    const { correctness, format, hierarchical, countdown } = BUILTIN_REWARDS;
    const rows: [string, number, number, number][] = [
      // completion, correctness, format, hierarchical
      [' 18 - 5 = 13 jars. </think> <answer>13</answer>', 1, 1, 2],
      [' 18 - 5 = 13 jars. </think> <answer>14</answer>', 0, 1, -1],
      [' 18 - 5 = 13 jars.', 1, 0, 1], // right by the last number, bad format
      [' 13 </think> <answer>13</answer> extra', 1, 0, 1],
      [' </think> <answer>12</answer><answer>13</answer>', 1, 0, 1],
      [' </think> <answer>thirteen</answer>', 0, 1, -1],
      [' </think> <answer>13', 1, 0, 1], // unclosed: falls back to the last number
      ['', 0, 0, -1],
    ];
    for (const [c, corr, fmt, hier] of rows) {
      expect(correctness!(c, TOY), c).toBe(corr);
      expect(format!(c, TOY), c).toBe(fmt);
      expect(hierarchical!(c, TOY), c).toBe(hier);
      expect(countdown!(c, TOY), c).toBeNull();
    }
  });
  it('scores Countdown equations', () => {
    const { correctness, countdown, hierarchical } = BUILTIN_REWARDS;
    expect(countdown!(' 44+19=63, 63+35=98 </think> <answer>44 + 19 + 35</answer>', CD)).toBe(1);
    expect(countdown!(' </think> <answer>(35 + 19) + 44 = 98</answer>', CD)).toBe(1);
    expect(countdown!(' </think> <answer>44 + 54</answer>', CD)).toBe(0);
    expect(countdown!(' </think> <answer>98</answer>', CD)).toBe(0);
    expect(countdown!(' 44 + 19 + 35 = 98', CD)).toBe(0); // no tags
    expect(correctness!(' </think> <answer>44 + 19 + 35</answer>', CD)).toBe(1);
    expect(hierarchical!(' </think> <answer>44 + 19 + 35</answer> x', CD)).toBe(1);
  });
  it('a perfect toy-world target gets full marks', () => {
    for (const p of generateToyProblems(3, 300)) {
      const t = renderTarget(p);
      expect(isCorrect(t, p)).toBe(true);
      expect(BUILTIN_REWARDS.hierarchical!(t, p)).toBe(2);
    }
  });
  it('unknown names give a typed error listing the choices', () => {
    expect(() => builtinReward('nope')).toThrow(UnknownRewardError);
    expect(() => builtinReward('nope')).toThrow(/correctness, format, hierarchical, countdown/);
  });
});
