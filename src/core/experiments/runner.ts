/**
 * Runs a recipe end to end: for each seed, each arm starts from the base model or the seed's
 * Stage-1 checkpoint, trains with GRPO through the trainer's public API (the arm's prompt mix and
 * problem pool are the renderer and source handed to it), and is probed the paper's way (Avg@k at
 * T = 0.6) and greedily on the same held-out problems. Partial results are reported after every
 * arm so a long run that is stopped keeps what it finished.
 */
import { GRPOTrainer, type ProblemSource, type TextTokenizer } from '../grpo/trainer';
import type { GRPOConfig } from '../grpo/config';
import { generate } from '../model/generate';
import { exportModel, loadModel, type LoadedModel } from '../model/load';
import { makeCompleter, type CompleterTokenizer } from '../probes/completer';
import { AVG_K_SAMPLES, AVG_K_TEMPERATURE, runProbesDetailed, type CompleteFn, type ProbeRow } from '../probes/run';
import { builtinReward, isCorrect } from '../rewards/builtin';
import { fromRewardFn } from '../rewards/runner';
import { Rng } from '../rng';
import { createTask, type Task } from '../tasks/index';
import { augmentWithPartialSolutions } from '../tasks/partial-solutions';
import { renderPrompt } from '../tasks/prompt';
import { ANSWER_CLOSE } from '../tasks/prompt';
import type { Problem } from '../types';
import type { ProbeReport, TaskSpec } from '../domain';
import { halfHalf, listSource, mixRenderer } from './prompts';
import { EXPERIMENT_GRPO, ExperimentError, recipe as getRecipe, type ArmSpec, type ArmTraining, type ExperimentName, type ProblemPool } from './recipes';

export interface ExperimentOptions {
  seeds: number[];
  /** RL steps of the RL arms (Stage 1 in hard-problems). */
  steps: number;
  /** Stage-2 steps (hard-problems only). */
  stage2Steps: number;
  /** Held-out probe problems. */
  probeN: number;
  probeSamples?: number;
  probeTemperature?: number;
  /** The probe set's seed (the same problems for every arm and seed). */
  probeSeed?: number;
  /** Also probe greedily (one completion per prompt). Default true. */
  greedy?: boolean;
  /** GRPO settings over EXPERIMENT_GRPO (seed is set per run). */
  grpo?: Partial<GRPOConfig>;
  /** Run only these arms (ids); default all. */
  arms?: string[];
  /** Hard-set selection: candidates drawn, samples each, kept when the Stage-1 model solves at most this fraction. */
  hardPool?: number;
  hardSamples?: number;
  hardThreshold?: number;
  /** Minimum size of the hard set (the lowest-scoring candidates fill it up). */
  hardMin?: number;
  probeBatch?: number;
  /** A stopped run of the same recipe and settings: its finished (arm, seed) runs are kept, not rerun. */
  previous?: ExperimentResult;
}

export interface ExperimentEnv {
  /** The starting model's files in Hub layout. */
  baseFiles: Map<string, Uint8Array>;
  task?: TaskSpec;
  /** The backend's name, for the record. */
  backend?: string;
  log?: (message: string) => void;
  /** After each arm: the result so far (write it somewhere). */
  onProgress?: (result: ExperimentResult) => void | Promise<void>;
  /**
   * Called between chunks of work (decoding steps, updates, probe batches, RL steps). A host that
   * shares its thread (a Web Worker) yields here so a Stop can arrive, and throws to end the run;
   * what finished before is already in the last onProgress result.
   */
  onPhase?: (phase: ExperimentPhase) => void | Promise<void>;
}

/** Where a run is: the arm and seed, what it is doing, and how far along it is. */
export interface ExperimentPhase {
  /** An arm id, or 'stage1' for the Stage-1 run that Stage-2 arms start from. */
  arm: string;
  seed: number;
  phase: 'train' | 'probe' | 'hard-set';
  /** RL steps done and planned (train), or probe rows done and total (probe, hard-set). */
  done: number;
  total: number;
  /** (arm, seed) runs finished, and planned in all. */
  runsDone: number;
  runsTotal: number;
}

/** Per-problem figures, compact (one per probe problem, in probe-set order). */
export interface CompactRows {
  plain: number[];
  plan: (number | null)[];
  knowledge: (number | null)[];
  subproblems: (number | null)[];
}

export interface ArmRun {
  arm: string;
  seed: number;
  sampled: ProbeReport;
  sampledRows: CompactRows;
  greedy?: ProbeReport;
  greedyRows?: CompactRows;
  /** Mean training reward per step (empty for an arm that does not train). */
  trainReward: number[];
  /** Per step, the fraction of completions in groups whose rewards were all equal (no learning signal). */
  trainZeroStd?: number[];
  /** Hard-set size where the arm trained on one. */
  hardSet?: number;
  seconds: number;
}

export interface ExperimentResult {
  experiment: ExperimentName;
  title: string;
  question: string;
  paper: string;
  arms: { id: string; label: string }[];
  settings: {
    seeds: number[];
    steps: number;
    stage2Steps: number;
    probeN: number;
    probeSamples: number;
    probeTemperature: number;
    probeSeed: number;
    grpo: Partial<GRPOConfig>;
    task: TaskSpec;
    backend?: string;
  };
  runs: ArmRun[];
  started: string;
  finished?: string;
  complete: boolean;
}

function compact(rows: ProbeRow[]): CompactRows {
  return { plain: rows.map((r) => r.plain), plan: rows.map((r) => r.plan), knowledge: rows.map((r) => r.knowledge), subproblems: rows.map((r) => r.subproblems) };
}

function completerTokenizer(m: LoadedModel): CompleterTokenizer {
  const tok = m.tokenizer;
  const genEos = m.generationConfig?.eos_token_id;
  const extra = Array.isArray(genEos) ? genEos.filter((x): x is number => typeof x === 'number') : typeof genEos === 'number' ? [genEos] : [];
  return {
    encode: (t, o) => tok.encode(t, o),
    decode: (ids, o) => tok.decode(ids, o),
    eosTokenIds: [...new Set([...tok.eosTokenIds, ...extra])],
    padTokenId: tok.padTokenId,
    hasChatTemplate: tok.hasChatTemplate,
    formatPrompt: (u) => tok.formatPrompt(u),
  };
}

function textTokenizer(m: LoadedModel): TextTokenizer {
  const chat = m.tokenizer.hasChatTemplate;
  return {
    encode: (t) => m.tokenizer.encode(t, { addSpecialTokens: !chat }),
    decode: (ids) => m.tokenizer.decode(ids, { skipSpecialTokens: false }),
  };
}

const HARD_SALT = 0x4a5d;

export async function runExperiment(name: string, opts: ExperimentOptions, env: ExperimentEnv): Promise<ExperimentResult> {
  const rec = getRecipe(name);
  if (opts.seeds.length === 0) throw new ExperimentError('At least one seed is needed.');
  const arms = opts.arms ? rec.arms.filter((a) => opts.arms!.includes(a.id)) : rec.arms;
  if (arms.length === 0) throw new ExperimentError(`None of the arms ${opts.arms?.join(', ')} is in '${name}'. Its arms: ${rec.arms.map((a) => a.id).join(', ')}.`);
  const taskSpec: TaskSpec = env.task ?? { kind: 'toy-world' };
  const task = createTask(taskSpec);
  const probeSeed = opts.probeSeed ?? 1234;
  const probeSamples = opts.probeSamples ?? AVG_K_SAMPLES;
  const probeTemperature = opts.probeTemperature ?? AVG_K_TEMPERATURE;
  const grpo: Partial<GRPOConfig> = { ...EXPERIMENT_GRPO, ...(opts.grpo ?? {}) };
  const probes = task.probeSet(probeSeed, opts.probeN);
  const log = env.log ?? (() => undefined);
  const result: ExperimentResult = {
    experiment: rec.name,
    title: rec.title,
    question: rec.question,
    paper: rec.paper,
    arms: arms.map((a) => ({ id: a.id, label: a.label })),
    settings: { seeds: opts.seeds, steps: opts.steps, stage2Steps: opts.stage2Steps, probeN: probes.length, probeSamples, probeTemperature, probeSeed, grpo, task: taskSpec, ...(env.backend ? { backend: env.backend } : {}) },
    runs: [],
    started: new Date().toISOString(),
    complete: false,
  };
  if (opts.previous) {
    const p = opts.previous;
    const same = p.experiment === result.experiment && p.settings.steps === opts.steps && p.settings.stage2Steps === opts.stage2Steps && p.settings.probeN === probes.length && p.settings.probeSamples === probeSamples && p.settings.probeTemperature === probeTemperature && p.settings.probeSeed === probeSeed && JSON.stringify(p.settings.grpo) === JSON.stringify(grpo);
    if (!same) throw new ExperimentError('The stored result was made with other settings (steps, probe size, samples or GRPO settings); resume with the same options or use a new --out folder.');
    result.runs.push(...p.runs.filter((r) => arms.some((a) => a.id === r.arm)));
    result.started = p.started;
  }
  // The run exists from here on: a host lists it (no arms yet) before the first arm finishes.
  await env.onProgress?.(result);
  const runsTotal = arms.reduce((n, a) => n + (a.from === 'base' && !a.train ? 1 : opts.seeds.length), 0);
  const phase = async (arm: string, seed: number, p: ExperimentPhase['phase'], d: number, total: number): Promise<void> => {
    await env.onPhase?.({ arm, seed, phase: p, done: d, total, runsDone: result.runs.length, runsTotal });
  };
  const done = (arm: string, seed: number): boolean => result.runs.some((r) => r.arm === arm && r.seed === seed);
  const load = (files: Map<string, Uint8Array>): Promise<LoadedModel> =>
    loadModel({ kind: 'files', files: [...files].map(([n, data]) => ({ name: n, data })) }, { trainable: true });

  const probe = async (m: LoadedModel, arm: string, seed: number): Promise<Pick<ArmRun, 'sampled' | 'sampledRows' | 'greedy' | 'greedyRows'>> => {
    const complete = makeCompleter(m.model, completerTokenizer(m), {
      generate,
      maxNewTokens: grpo.max_completion_length ?? 128,
      batchSize: opts.probeBatch ?? 32,
      onProgress: (d, total) => phase(arm, seed, 'probe', d, total),
    });
    const s = await runProbesDetailed(complete, probes, { mode: 'sampled', samples: probeSamples, temperature: probeTemperature, seed });
    const out: Pick<ArmRun, 'sampled' | 'sampledRows' | 'greedy' | 'greedyRows'> = { sampled: s.report, sampledRows: compact(s.rows) };
    if (opts.greedy ?? true) {
      const g = await runProbesDetailed(complete, probes, { mode: 'greedy', seed });
      out.greedy = g.report;
      out.greedyRows = compact(g.rows);
    }
    return out;
  };

  const train = async (m: LoadedModel, arm: string, t: ArmTraining, seed: number, source: ProblemSource): Promise<{ rewards: number[]; zeroStd: number[] }> => {
    const steps = t.length === 'stage1' ? opts.steps : opts.stage2Steps;
    const fns = t.rewards.map((r) => fromRewardFn({ name: r.name, fn: builtinReward(r.name) }));
    const chat = m.tokenizer.hasChatTemplate;
    const trainer = new GRPOTrainer({
      policy: m.model,
      tokenizer: textTokenizer(m),
      problems: source,
      renderPrompt: mixRenderer(t.mix, seed ^ 0x5eed, chat ? (u) => m.tokenizer.formatPrompt(u) : undefined),
      rewards: fns,
      generate,
      config: { ...grpo, ...(t.config ?? {}), seed, max_steps: Math.max(1, steps), reward_weights: t.rewards.map((r) => r.weight) },
      eosTokenIds: m.tokenizer.eosTokenIds,
      padTokenId: m.tokenizer.padTokenId,
      stopStrings: [ANSWER_CLOSE],
      solved: (c, p) => isCorrect(c, p),
    });
    const rewards: number[] = [];
    const zeroStd: number[] = [];
    try {
      for (let s = 0; s < steps; s++) {
        await phase(arm, seed, 'train', s, steps);
        const r = await trainer.trainStep({
          onRolloutStep: async (t) => {
            if (t % 8 === 0) await phase(arm, seed, 'train', s, steps);
          },
          onUpdate: () => phase(arm, seed, 'train', s, steps),
        });
        rewards.push(r.metrics.reward ?? NaN);
        zeroStd.push(r.metrics.frac_reward_zero_std ?? NaN);
        log(`  step ${s + 1}/${steps} reward ${(r.metrics.reward ?? NaN).toFixed(3)}`);
      }
    } finally {
      trainer.dispose();
    }
    return { rewards, zeroStd };
  };

  /** The Stage-1 model's hard set: candidates it solves at most `hardThreshold` of the time. */
  const hardSet = async (m: LoadedModel, seed: number): Promise<Problem[]> => {
    const hardSpec: TaskSpec = taskSpec.kind === 'toy-world' ? { kind: 'toy-world', difficulty: 4 } : taskSpec;
    const candidates = createTask(hardSpec).sample(new Rng(seed ^ HARD_SALT), opts.hardPool ?? 32);
    const unique = [...new Map(candidates.map((p) => [p.id, p])).values()];
    const k = opts.hardSamples ?? 4;
    const tok = completerTokenizer(m);
    const complete: CompleteFn = makeCompleter(m.model, tok, {
      generate,
      maxNewTokens: grpo.max_completion_length ?? 128,
      batchSize: opts.probeBatch ?? 32,
      onProgress: (d, total) => phase('stage1', seed, 'hard-set', d, total),
    });
    const texts = await complete(unique.map((p) => renderPrompt(p)), { temperature: grpo.temperature ?? 1, seed: seed ^ HARD_SALT, samples: k });
    const rate = unique.map((p, i) => ({ p, r: texts[i]!.filter((c) => isCorrect(c, p)).length / k }));
    rate.sort((a, b) => a.r - b.r);
    const threshold = opts.hardThreshold ?? 0.25;
    const min = Math.min(opts.hardMin ?? 8, rate.length);
    const kept = rate.filter((x, i) => x.r <= threshold || i < min).map((x) => x.p);
    log(`  hard set: ${kept.length} of ${unique.length} difficulty-4 candidates (solved ≤ ${threshold * 100}% of ${k} samples, at least ${min})`);
    return kept;
  };

  const sourceFor = (pool: ProblemPool, hard: Problem[] | null): ProblemSource => {
    if (pool === 'all') return task;
    if (!hard) throw new ExperimentError(`The pool '${pool}' needs a Stage-1 hard set.`);
    switch (pool) {
      case 'hard':
        return listSource(hard);
      case 'hard-mix':
        return halfHalf(listSource(hard), task);
      case 'hard-augmented':
        return listSource(augmentWithPartialSolutions(hard));
    }
  };

  const runArm = async (arm: ArmSpec, files: Map<string, Uint8Array>, seed: number, hard: Problem[] | null): Promise<void> => {
    if (done(arm.id, seed)) return;
    const t0 = performance.now();
    log(`${rec.name} / ${arm.id} / seed ${seed}`);
    const m = await load(files);
    try {
      const trained = arm.train ? await train(m, arm.id, arm.train, seed, sourceFor(arm.train.pool, hard)) : null;
      const p = await probe(m, arm.id, seed);
      const run: ArmRun = { arm: arm.id, seed, ...p, trainReward: trained?.rewards ?? [], seconds: Math.round((performance.now() - t0) / 100) / 10 };
      if (trained) run.trainZeroStd = trained.zeroStd;
      if (arm.train && arm.train.pool !== 'all' && hard) run.hardSet = hard.length;
      result.runs.push(run);
      log(`  ${arm.id}: Avg@${probeSamples} plain ${(p.sampled.plain.acc * 100).toFixed(1)}%, plan effect ${(p.sampled.planEffect * 100).toFixed(1)}, knowledge effect ${(p.sampled.knowledgeEffect * 100).toFixed(1)}, subproblems ${(p.sampled.subproblems.acc * 100).toFixed(1)}% (${run.seconds}s)`);
      await env.onProgress?.(result);
    } finally {
      m.model.dispose();
    }
  };

  // An untrained base model differs between seeds only in probe sampling: probed once.
  for (const arm of arms.filter((a) => a.from === 'base' && !a.train)) {
    if (!result.runs.some((r) => r.arm === arm.id)) await runArm(arm, env.baseFiles, opts.seeds[0]!, null);
  }
  for (const seed of opts.seeds) {
    for (const arm of arms.filter((a) => a.from === 'base' && a.train)) await runArm(arm, env.baseFiles, seed, null);
    const fromStage1 = arms.filter((a) => a.from === 'stage1');
    if (fromStage1.length === 0 || fromStage1.every((a) => done(a.id, seed))) continue;
    // Stage 1: the recipe's ordinary RL run, once per seed; every Stage-2 arm starts from its weights.
    log(`${rec.name} / stage 1 / seed ${seed}`);
    const m = await load(env.baseFiles);
    let stage1: Map<string, Uint8Array>;
    let hard: Problem[];
    try {
      await train(m, 'stage1', { length: 'stage1', pool: 'all', mix: { plain: 1, plan: 0, knowledge: 0 }, rewards: fromStage1.find((a) => a.train)?.train?.rewards ?? [{ name: 'correctness', weight: 1 }] }, seed, task);
      stage1 = await exportModel(m.model, m.files);
      hard = await hardSet(m, seed);
    } finally {
      m.model.dispose();
    }
    for (const arm of fromStage1) await runArm(arm, stage1, seed, hard);
  }
  result.complete = true;
  result.finished = new Date().toISOString();
  await env.onProgress?.(result);
  return result;
}

/** The task's problems never include probe problems; this checks a list against the probe set. */
export function overlapsProbeSet(problems: readonly Problem[], task: Task, probeSeed: number, probeN: number): string[] {
  const probeQuestions = new Set(task.probeSet(probeSeed, probeN).map((p) => p.question));
  return problems.filter((p) => probeQuestions.has(p.question)).map((p) => p.id);
}
