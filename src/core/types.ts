/** Types shared by the whole core. Kept free of tensors so the UI can import them. */

export interface Subproblem {
  question: string;
  answer: string;
}

/** One problem of a task. Only prompt and answer are required (a GSM8K-style import has just those). */
export interface Problem {
  id: string;
  /** Which task made it: 'toy-world', 'countdown', 'jsonl:<name>'. */
  task: string;
  /** The question in words, without any formatting instructions. */
  question: string;
  /** The reference answer as text (a number for the toy world). */
  answer: string;
  /** Planning skeleton: ordered steps, as the paper's planning field. */
  plan?: string[];
  /** Facts the problem needs. */
  knowledge?: string[];
  /** A chain of subproblems whose last answer is the problem's answer. */
  subproblems?: Subproblem[];
  /** Reference reasoning trace (the text that goes inside <think>…</think>). */
  solution?: string;
  /** 1 = easiest. */
  difficulty?: number;
  /** Task-specific data (e.g. Countdown's numbers and target) for rewards. */
  meta?: Record<string, unknown>;
}

/** A reward function: null means "not applicable" and is left out of the weighted sum (TRL's NaN). */
export type RewardFn = (completion: string, problem: Problem) => number | null;

export interface NamedReward {
  name: string;
  fn: RewardFn;
}
