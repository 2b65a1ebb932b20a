/**
 * Built-in rewards. The completion is what the model wrote after the prompt, and the prompt
 * already ends with <think>, so a completion looks like "reasoning </think> <answer>N</answer>".
 */
import { checkCountdown, readCountdownMeta } from '../tasks/countdown';
import type { Problem, RewardFn } from '../types';
import { answersMatch, extractAnswer, extractTaggedAnswer } from './extract';

// End-of-sequence markers a decoder may leave in the text (Llama, GPT-2, ChatML, Gemma styles).
const EOS_TEXT = String.raw`(?:<\|[a-z_]+\|>|<\/s>|<eos>|<end_of_turn>)`;
const FORMAT_RE = new RegExp(
  String.raw`^\s*(?:<think>)?((?:(?!<\/?think>|<\/?answer>)[\s\S])*)<\/think>\s*<answer>((?:(?!<\/?answer>|<\/?think>)[\s\S])*)<\/answer>(?:\s*${EOS_TEXT})*\s*$`,
);

/**
 * Well formatted: optional <think>, reasoning without tags, </think>, one non-empty
 * <answer>…</answer>, then only whitespace or end-of-sequence markers.
 */
export function isWellFormatted(completion: string): boolean {
  const m = FORMAT_RE.exec(completion);
  return m !== null && m[2]!.trim() !== '';
}

/** Whether the completion answers the problem: Countdown checks the equation, others compare answers. */
export function isCorrect(completion: string, problem: Problem): boolean {
  const cd = readCountdownMeta(problem);
  if (cd && problem.task === 'countdown') {
    // An equation cannot be recovered from "the last number", so Countdown needs the tags.
    const eq = extractTaggedAnswer(completion);
    return typeof eq === 'string' && checkCountdown(eq, cd).ok;
  }
  return answersMatch(extractAnswer(completion), problem.answer);
}

export const correctnessReward: RewardFn = (completion, problem) => (isCorrect(completion, problem) ? 1 : 0);

export const formatReward: RewardFn = (completion) => (isWellFormatted(completion) ? 1 : 0);

const IDK_RE = /\b(?:i\s+(?:do\s*n[o']?t|don[’']t|cannot|can[’']t|can\s*not)\s+know|unknown|not\s+sure|cannot\s+be\s+determined|no\s+answer)\b/i;

/**
 * Whether the answer says it does not know: the last <answer> block does ("I don't know",
 * "unknown", "not sure", "cannot be determined"), or, with no answer block, the completion does
 * and gives no number at all (a wrong number is a wrong answer, whatever the prose says).
 */
export function saysIDontKnow(completion: string): boolean {
  const tagged = extractTaggedAnswer(completion);
  if (typeof tagged === 'string') return IDK_RE.test(tagged);
  if (tagged === null) return false;
  return extractAnswer(completion) === null && IDK_RE.test(completion);
}

/**
 * SPARKLE's reward: −1 wrong, 0 for an answer that says it does not know, +1 right but badly
 * formatted, +2 right and well formatted. The 0 makes abstaining better than guessing wrong.
 */
export const hierarchicalReward: RewardFn = (completion, problem) => {
  if (!isCorrect(completion, problem)) return saysIDontKnow(completion) ? 0 : -1;
  return isWellFormatted(completion) ? 2 : 1;
};

/** 1 when the tagged equation uses each number once and equals the target; null off Countdown. */
export const countdownReward: RewardFn = (completion, problem) => {
  const cd = readCountdownMeta(problem);
  if (!cd) return null;
  const eq = extractTaggedAnswer(completion);
  return typeof eq === 'string' && checkCountdown(eq, cd).ok ? 1 : 0;
};

export const BUILTIN_REWARDS: Record<string, RewardFn> = {
  correctness: correctnessReward,
  format: formatReward,
  hierarchical: hierarchicalReward,
  countdown: countdownReward,
};

/** What each built-in reward does, in a line, for the reward picker. */
export const BUILTIN_REWARD_DESCRIPTIONS: Record<string, string> = {
  correctness: '1 if the answer is right, else 0.',
  format: '1 if the completion is reasoning, </think>, then one <answer>…</answer> and nothing else.',
  hierarchical: 'SPARKLE: −1 wrong, 0 for "I don\'t know", +1 right with bad format, +2 right with good format.',
  countdown: 'Countdown: 1 if the equation uses each number once and equals the target (not applicable elsewhere).',
};

export class UnknownRewardError extends Error {
  override name = 'UnknownRewardError';
}

export function builtinReward(name: string): RewardFn {
  const fn = BUILTIN_REWARDS[name];
  if (!fn) throw new UnknownRewardError(`Unknown built-in reward '${name}'. Available: ${Object.keys(BUILTIN_REWARDS).join(', ')}.`);
  return fn;
}
