/**
 * What one step's rollout hands to the rest of the step: scored groups of G completions each.
 * Plain data; the UI's views of it are built outside the trainer (src/worker/rollout-views.ts).
 */
import type { Problem } from '../types';
import type { FinishReason } from '../model/types';

/** A rolled-out, scored group of G completions of one prompt. */
export interface Group {
  problem: Problem;
  prompt: string;
  promptIds: number[];
  /** 0 = plain prompt; 1..4 = scaffolded. */
  scaffoldLevel: number;
  tokens: number[][];
  finish: FinishReason[];
  texts: string[];
  /** Weighted sum of the functions' scores, 0 where none scored it (the advantages treat such a row as unscored, from perFunction). */
  rewards: number[];
  perFunction: Record<string, (number | null)[]>;
}

export interface Batch {
  /** The groups the update trains on, in order. */
  groups: Group[];
  /** Groups left out for zero reward variance (dynamic sampling); shown, not trained on. */
  dropped: Group[];
  /** The first round of groups for fresh prompts, before scaffolding or resampling: the reward metrics describe these. */
  fresh: Group[];
  /** Seconds spent generating and tokens generated, over every round. */
  generation: { seconds: number; tokens: number };
  scaffold: { groups: number; meanLevel: number; stillFailed: number } | null;
  dynamicSampling: { kept: number; dropped: number } | null;
}
