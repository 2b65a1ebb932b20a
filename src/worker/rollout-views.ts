/**
 * The rollout viewer's data for one step: every group, trained ones first and then the ones
 * dynamic sampling set aside, with per-token text pieces for tinting.
 */
import type { Group, StepResult, TextTokenizer } from '../core/grpo/trainer';
import type { RolloutView } from './protocol';

function view(g: Group, advantages: readonly number[] | null, trained: boolean, tokenizer: TextTokenizer): RolloutView {
  return {
    problemId: g.problem.id,
    prompt: g.prompt,
    scaffoldLevel: g.scaffoldLevel,
    trained,
    completions: g.texts.map((text, i) => ({
      text,
      tokens: g.tokens[i]!.map((id) => tokenizer.decode([id])),
      reward: g.rewards[i]!,
      rewards: Object.fromEntries(Object.entries(g.perFunction).map(([k, v]) => [k, v[i]!])),
      advantage: advantages ? advantages[i]! : 0,
      finish: g.finish[i]!,
    })),
  };
}

export function rolloutViews(result: Pick<StepResult, 'batch' | 'advantages'>, tokenizer: TextTokenizer): RolloutView[] {
  const { batch, advantages } = result;
  const G = batch.groups[0]?.texts.length ?? 0;
  const out = batch.groups.map((g, i) => view(g, advantages.slice(i * G, (i + 1) * G), true, tokenizer));
  for (const g of batch.dropped) out.push(view(g, null, false, tokenizer));
  return out;
}
