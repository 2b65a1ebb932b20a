/** The hierarchical reward's "I don't know" branch: 0 for an answer that says it does not know. */
import { describe, expect, it } from 'vitest';
import { BUILTIN_REWARDS, saysIDontKnow } from '../../src/core/rewards/builtin';
import type { Problem } from '../../src/core/types';

const P: Problem = { id: 't', task: 'toy-world', question: 'Sam has 18 jars. Sam loses 5 jars. How many jars does Sam have now?', answer: '13' };

describe("hierarchical reward: I don't know", () => {
  const rows: [string, boolean, number][] = [
    // completion, says it does not know, hierarchical reward
    [" I cannot tell. </think> <answer>I don't know</answer>", true, 0],
    [' </think> <answer>I do not know.</answer>', true, 0],
    [' </think> <answer>Unknown</answer>', true, 0],
    [' </think> <answer>cannot be determined</answer>', true, 0],
    [' I do not know how many jars are left.', true, 0], // no tags and no number
    [" I don't know, maybe 5", false, -1], // a number is an answer: wrong
    [' </think> <answer>14</answer>', false, -1],
    [' </think> <answer>I know: 14</answer>', false, -1],
    [" not sure </think> <answer>13</answer>", false, 2], // right beats the prose
    [" I don't know the facts. </think> <answer>12</answer>", false, -1], // only the answer block counts
    [' </think> <answer></answer>', false, -1],
  ];
  for (const [c, idk, r] of rows) {
    it(JSON.stringify(c), () => {
      expect(saysIDontKnow(c)).toBe(idk);
      expect(BUILTIN_REWARDS.hierarchical!(c, P)).toBe(r);
      // Abstaining is not right: correctness still gives it 0.
      if (idk) expect(BUILTIN_REWARDS.correctness!(c, P)).toBe(0);
    });
  }
});
