/**
 * The paper's probes on a fixed problem set: accuracy plain, with the plan, with the knowledge,
 * and subproblem-chain success, each with a Wilson interval. The model is abstracted as
 * `complete`, so the probes run the same against the engine, a Hub model or a test fake.
 */
import type { ProbeReport, ProbeScore } from '../domain';
import { isCorrect } from '../rewards/builtin';
import { renderPrompt } from '../tasks/prompt';
import type { Problem } from '../types';
import { avgAtK, meanInterval, passAtK, wilson } from './stats';

export interface CompleteOptions {
  temperature: number;
  seed: number;
  /** Completions per prompt. */
  samples: number;
}

/** Completions for each prompt: result[i] has `samples` strings for prompts[i]. */
export type CompleteFn = (prompts: string[], opts: CompleteOptions) => Promise<string[][]>;

export interface ProbeOptions {
  /**
   * 'greedy': temperature 0, one sample. 'sampled' (the paper's Avg@k): `samples` samples
   * (default 8) at `temperature` (default 0.6), intervals over problems.
   */
  mode?: 'greedy' | 'sampled';
  samples?: number;
  temperature?: number;
  seed?: number;
  /** Training step the report belongs to. */
  step?: number;
  /** k for pass@k in sampled mode (default: samples). */
  passK?: number;
  /** Scorer; default: the built-in correctness check. */
  isCorrect?: (completion: string, problem: Problem) => boolean;
}

export class ProbeError extends Error {
  override name = 'ProbeError';
}

/** Per-problem results, for tables by difficulty and for showing which probes failed. */
export interface ProbeRow {
  id: string;
  difficulty: number | undefined;
  /** Fraction of samples right (Avg@k), or null where the condition does not apply. */
  plain: number;
  plan: number | null;
  knowledge: number | null;
  /** 1 when every subproblem is right (greedy); in sampled mode the mean over samples of "all right". */
  subproblems: number | null;
  /** Correct samples out of `samples`, plain prompt (for pass@k). */
  plainCorrect: number;
}

export interface ProbeResult {
  report: ProbeReport;
  rows: ProbeRow[];
  /** Prompts sent (after removing duplicates) and completions generated. */
  prompts: number;
  completions: number;
}

/** Defaults of the paper's Avg@k: 8 samples at temperature 0.6. */
export const AVG_K_SAMPLES = 8;
export const AVG_K_TEMPERATURE = 0.6;

function greedyScore(values: number[]): ProbeScore {
  const n = values.length;
  const total = values.reduce((a, b) => a + b, 0);
  const { lo, hi } = wilson(total, n);
  return { acc: n === 0 ? 0 : total / n, lo, hi, n };
}

/** n counts problems, not samples: the samples of one problem are not independent trials. */
function score(values: number[], sampled: boolean): ProbeScore {
  return sampled ? avgAtK(values) : greedyScore(values);
}

/** The paired effect's interval: a t-interval over per-problem differences (greedy or Avg@k alike). */
function effectCI(a: number[], b: number[]): { lo: number; hi: number } {
  const m = meanInterval(a.map((x, i) => x - b[i]!), -1, 1);
  return { lo: m.lo, hi: m.hi };
}

function mean(xs: number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

export async function runProbesDetailed(complete: CompleteFn, problems: Problem[], opts: ProbeOptions = {}): Promise<ProbeResult> {
  const mode = opts.mode ?? 'greedy';
  const samples = mode === 'greedy' ? 1 : (opts.samples ?? AVG_K_SAMPLES);
  const temperature = mode === 'greedy' ? 0 : (opts.temperature ?? AVG_K_TEMPERATURE);
  if (!Number.isInteger(samples) || samples < 1) throw new ProbeError(`Probe samples must be a positive integer, got ${opts.samples}.`);
  if (problems.length === 0) throw new ProbeError('The probe set is empty: nothing to evaluate.');
  const correct = opts.isCorrect ?? isCorrect;

  // One call with every distinct prompt, so the completer can batch across conditions.
  const promptIndex = new Map<string, number>();
  const prompts: string[] = [];
  const ask = (text: string): number => {
    let i = promptIndex.get(text);
    if (i === undefined) {
      i = prompts.length;
      promptIndex.set(text, i);
      prompts.push(text);
    }
    return i;
  };
  const plan = problems.map((p) => ({
    plain: ask(renderPrompt(p)),
    plan: p.plan && p.plan.length > 0 ? ask(renderPrompt(p, { plan: true })) : null,
    knowledge: p.knowledge && p.knowledge.length > 0 ? ask(renderPrompt(p, { knowledge: true })) : null,
    subs: p.subproblems && p.subproblems.length > 0 ? p.subproblems.map((s, j) => ({ prompt: ask(renderPrompt({ id: `${p.id}/sub${j}`, task: p.task, question: s.question, answer: s.answer })), answer: s.answer })) : null,
  }));

  const out = await complete(prompts, { temperature, seed: opts.seed ?? 0, samples });
  if (out.length !== prompts.length || out.some((c) => c.length !== samples)) {
    throw new ProbeError(`The completer returned ${out.length} prompts × ${out[0]?.length ?? 0} samples; expected ${prompts.length} × ${samples}.`);
  }
  const hits = (promptIdx: number, p: Problem): boolean[] => out[promptIdx]!.map((c) => correct(c, p));

  const rows: ProbeRow[] = problems.map((p, i) => {
    const ix = plan[i]!;
    const plainHits = hits(ix.plain, p);
    let subs: number | null = null;
    if (ix.subs) {
      // Sample s of the chain: every subproblem's s-th sample right.
      const subHits = ix.subs.map((s, j) => hits(s.prompt, { id: `${p.id}/sub${j}`, task: p.task, question: '', answer: s.answer }));
      subs = mean(Array.from({ length: samples }, (_, s) => (subHits.every((h) => h[s]) ? 1 : 0)));
    }
    const frac = (h: boolean[]): number => h.filter(Boolean).length / h.length;
    return {
      id: p.id,
      difficulty: p.difficulty,
      plain: frac(plainHits),
      plan: ix.plan === null ? null : frac(hits(ix.plan, p)),
      knowledge: ix.knowledge === null ? null : frac(hits(ix.knowledge, p)),
      subproblems: subs,
      plainCorrect: plainHits.filter(Boolean).length,
    };
  });

  // Effects are paired: plan vs plain over the problems that have a plan (likewise knowledge).
  const withPlan = rows.filter((r) => r.plan !== null);
  const withKnowledge = rows.filter((r) => r.knowledge !== null);
  const sampled = mode === 'sampled';
  const report: ProbeReport = {
    step: opts.step ?? 0,
    plain: score(rows.map((r) => r.plain), sampled),
    plan: score(withPlan.map((r) => r.plan!), sampled),
    knowledge: score(withKnowledge.map((r) => r.knowledge!), sampled),
    subproblems: score(rows.flatMap((r) => (r.subproblems === null ? [] : [r.subproblems])), sampled),
    planEffect: withPlan.length === 0 ? 0 : mean(withPlan.map((r) => r.plan!)) - mean(withPlan.map((r) => r.plain)),
    knowledgeEffect: withKnowledge.length === 0 ? 0 : mean(withKnowledge.map((r) => r.knowledge!)) - mean(withKnowledge.map((r) => r.plain)),
    mode: sampled ? 'avg@k' : 'greedy',
    samples,
    temperature,
  };
  if (withPlan.length > 0) report.planEffectCI = effectCI(withPlan.map((r) => r.plan!), withPlan.map((r) => r.plain));
  if (withKnowledge.length > 0) report.knowledgeEffectCI = effectCI(withKnowledge.map((r) => r.knowledge!), withKnowledge.map((r) => r.plain));
  if (mode === 'sampled') {
    const k = opts.passK ?? samples;
    if (!Number.isInteger(k) || k < 1 || k > samples) throw new ProbeError(`pass@k needs 1 <= k <= samples (${samples}), got ${k}.`);
    report.passAtK = { k, value: mean(rows.map((r) => passAtK(samples, r.plainCorrect, k))) };
  }
  return { report, rows, prompts: prompts.length, completions: prompts.length * samples };
}

export async function runProbes(complete: CompleteFn, problems: Problem[], opts: ProbeOptions = {}): Promise<ProbeReport> {
  return (await runProbesDetailed(complete, problems, opts)).report;
}
