/**
 * Everything between "a step begins" and "scored completions": sample prompts, render and
 * tokenize them, generate G completions each (one batched call per round), score them, then
 * re-roll hard groups with scaffolding and replace zero-variance groups by fresh prompts
 * when those options are on. Returns one Batch.
 */
import type { Rng } from '../rng';
import type { Problem } from '../types';
import type { CausalLM } from '../model/causal-lm';
import { generate as engineGenerate } from '../model/generate';
import type { FinishReason, GenerateOptions, GenerateResult } from '../model/types';
import { runRewards, type RewardFunction } from '../rewards/runner';
import { combineRewards, mean, nanStd } from './advantages';
import type { Batch, Group } from './batch';
import { ConfigError, rewardWeights, type GRPOConfig } from './config';
import { checkRolloutFits } from './limits';

export interface ProblemSource {
  sample(rng: Rng, n: number): Problem[];
}

/** Renders a problem as the prompt text the model continues; scaffoldLevel 1..4 adds solution chunks. */
export type PromptRenderer = (problem: Problem, opts: { scaffoldLevel?: number }) => string;

/** What the trainer needs of a tokenizer. encode returns the ids the model sees (BOS included where the model wants one). */
export interface TextTokenizer {
  encode(text: string): number[];
  decode(ids: number[]): string;
}

export type GenerateFn = (model: CausalLM, prompts: number[][], opts: GenerateOptions) => Promise<GenerateResult>;

export interface RolloutOptions {
  policy: CausalLM;
  tokenizer: TextTokenizer;
  problems: ProblemSource;
  renderPrompt: PromptRenderer;
  rewards: RewardFunction[];
  generate?: GenerateFn;
  eos: number[];
  pad: number;
  stopStrings?: string[];
  /** Whether a completion solved its problem (for scaffolding). Default: total reward > 0. */
  solved?: (completion: string, problem: Problem, reward: number) => boolean;
}

export interface RolloutHooks {
  /** Called after each decoding step of a rollout (await it to yield to the event loop). */
  onRolloutStep?: (step: number, total: number) => void | Promise<void>;
}

/** No learning signal: the scored completions' rewards are all equal, or fewer than two were scored. */
function zeroStd(g: Group): boolean {
  const std = nanStd(combineRewards(Object.values(g.perFunction), new Array<number>(Object.keys(g.perFunction).length).fill(1)));
  return !(std > 1e-8);
}

export class Rollout {
  private cfg!: GRPOConfig;
  private rng!: Rng;
  private hooks: RolloutHooks = {};
  private generation = { seconds: 0, tokens: 0 };

  constructor(private readonly o: RolloutOptions) {}

  /**
   * One step's batch. `rng` seeds the sampler (one draw per generate call); `stepRng` picks the
   * prompts, so that resampled prompts follow the first ones in a reproducible order.
   */
  async collect(cfg: GRPOConfig, rng: Rng, stepRng: Rng, hooks: RolloutHooks): Promise<Batch> {
    // One collect at a time: these describe the step being collected.
    this.cfg = cfg;
    this.rng = rng;
    this.hooks = hooks;
    this.generation = { seconds: 0, tokens: 0 };
    const fresh = await this.round(this.o.problems.sample(stepRng, cfg.prompts_per_step), []);
    const { groups: scaffolded, scaffold } = cfg.scaffold_hard_problems ? await this.scaffold(fresh) : { groups: fresh, scaffold: null };
    const { groups, dropped, dynamicSampling } = cfg.drop_zero_std_groups
      ? await this.dynamicSampling(scaffolded, stepRng)
      : { groups: scaffolded, dropped: [], dynamicSampling: null };
    return { groups, dropped, fresh, generation: this.generation, scaffold, dynamicSampling };
  }

  private tokenize(text: string): number[] {
    const ids = this.o.tokenizer.encode(text);
    if (ids.length === 0) throw new ConfigError('prompt', `the prompt "${text.slice(0, 40)}" tokenizes to nothing`);
    return ids;
  }

  /** Some tokenizers (transformers.js) refuse to decode an empty list: a lone EOS is the empty text. */
  private text(tokens: number[]): string {
    const ids = tokens.length > 0 && this.o.eos.includes(tokens[tokens.length - 1]!) ? tokens.slice(0, -1) : tokens;
    return ids.length > 0 ? this.o.tokenizer.decode(ids) : '';
  }

  /** G completions for each problem at the given scaffold levels, scored: one batched generate call. */
  private async round(problems: Problem[], levels: number[]): Promise<Group[]> {
    const { cfg, o } = this;
    const G = cfg.num_generations;
    const prompts = problems.map((p, i) => o.renderPrompt(p, levels[i] ? { scaffoldLevel: levels[i] } : {}));
    const promptIds = prompts.map((p) => this.tokenize(p));
    checkRolloutFits(o.policy.config, cfg, problems.map((problem, i) => ({ problem, ids: promptIds[i]! })));
    const res = await this.generate(promptIds.flatMap((ids) => new Array<number[]>(G).fill(ids)));
    const texts = res.tokens.map((t) => this.text(t));
    const rowProblems = problems.flatMap((p) => new Array<Problem>(G).fill(p));
    const scored = await runRewards(o.rewards, rewardWeights(cfg, o.rewards.length), texts, rowProblems);
    return problems.map((problem, i) => {
      const sl = <T>(xs: readonly T[]): T[] => xs.slice(i * G, (i + 1) * G);
      const perFunction: Record<string, (number | null)[]> = {};
      for (const [k, v] of Object.entries(scored.perFunction)) perFunction[k] = sl(v);
      return {
        problem,
        prompt: prompts[i]!,
        promptIds: promptIds[i]!,
        scaffoldLevel: levels[i] ?? 0,
        tokens: sl(res.tokens),
        finish: sl<FinishReason>(res.finish),
        texts: sl(texts),
        rewards: sl(scored.rewards),
        perFunction,
      };
    });
  }

  private async generate(rows: number[][]): Promise<GenerateResult> {
    const { cfg, o, hooks } = this;
    const maxNew = cfg.max_completion_length;
    const t0 = performance.now();
    const res = await (o.generate ?? engineGenerate)(o.policy, rows, {
      maxNewTokens: maxNew,
      temperature: cfg.temperature,
      topK: cfg.top_k > 0 ? cfg.top_k : undefined,
      topP: cfg.top_p < 1 ? cfg.top_p : undefined,
      minP: cfg.min_p ?? undefined,
      repetitionPenalty: cfg.repetition_penalty !== 1 ? cfg.repetition_penalty : undefined,
      seed: Math.floor(this.rng.next() * 2 ** 31),
      eosTokenIds: o.eos,
      padTokenId: o.pad,
      stopStrings: o.stopStrings,
      decode: (ids) => o.tokenizer.decode(ids),
      onStep: hooks.onRolloutStep ? (s) => hooks.onRolloutStep!(s, maxNew) : undefined,
    });
    this.generation.seconds += (performance.now() - t0) / 1000;
    for (const t of res.tokens) this.generation.tokens += t.length;
    return res;
  }

  private allFailed(g: Group): boolean {
    const solved = this.o.solved ?? ((_c: string, _p: Problem, r: number) => r > 0);
    return g.texts.every((t, i) => !solved(t, g.problem, g.rewards[i]!));
  }

  /** SPARKLE's scaffolding: a group that failed every completion is re-rolled with levels 1..4 of its solution. */
  private async scaffold(first: Group[]): Promise<{ groups: Group[]; scaffold: NonNullable<Batch['scaffold']> }> {
    let groups = first;
    let scaffolded = 0;
    let firstLevel = 0;
    for (let level = 1; level <= 4; level++) {
      const hard = groups.map((g, i) => (this.allFailed(g) && g.problem.solution ? i : -1)).filter((i) => i >= 0);
      if (hard.length === 0) break;
      const redo = await this.round(hard.map((i) => groups[i]!.problem), hard.map(() => level));
      groups = [...groups];
      hard.forEach((gi, j) => (groups[gi] = redo[j]!));
      scaffolded = hard.length;
      if (level === 1) firstLevel = hard.length;
    }
    const stillFailed = scaffolded > 0 ? groups.filter((g) => this.allFailed(g)).length : 0;
    return { groups, scaffold: { groups: firstLevel, meanLevel: mean(groups.map((g) => g.scaffoldLevel)), stillFailed } };
  }

  /** DAPO's dynamic sampling: groups with no reward variance are set aside and fresh prompts drawn instead. */
  private async dynamicSampling(groups: Group[], stepRng: Rng): Promise<Pick<Batch, 'groups' | 'dropped' | 'dynamicSampling'>> {
    const want = this.cfg.prompts_per_step;
    let kept = groups.filter((g) => !zeroStd(g));
    const dropped = groups.filter(zeroStd);
    for (let round = 0; round < this.cfg.max_resample_rounds && kept.length < want; round++) {
      const extra = await this.round(this.o.problems.sample(stepRng, want - kept.length), []);
      kept = [...kept, ...extra.filter((g) => !zeroStd(g))];
      dropped.push(...extra.filter(zeroStd));
    }
    return { groups: kept.slice(0, want), dropped, dynamicSampling: { kept: kept.length, dropped: dropped.length } };
  }
}
