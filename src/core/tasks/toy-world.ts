/**
 * The toy world: seeded multi-step word problems about containers whose counts live in a
 * fictional knowledge base (toy-kb.ts). Each step is one arithmetic operation on a running
 * quantity; "unpack" steps need a fact, "add"/"remove" steps use numbers from the question.
 */
import { Rng } from '../rng';
import type { Problem, Subproblem } from '../types';
import { FACT_BY_ID, TOY_FACTS, factChains, factSentence, type Fact, type Noun } from './toy-kb';
import { hashHex, isHeldOut } from './hash';

export const TOY_TASK = 'toy-world';
export const MAX_DIFFICULTY = 4;

const NAMES = ['Sam', 'Ana', 'Tom', 'Mia', 'Leo', 'Zoe', 'Ben', 'Eva'] as const;

/** Largest value any step may produce, per difficulty: keeps the arithmetic within a tiny model's reach. */
const CAP = [0, 100, 100, 150, 200] as const;

export type ToyStep =
  | { kind: 'unpack'; fact: Fact }
  | { kind: 'add'; unit: Noun; amount: number; verb: number }
  | { kind: 'remove'; unit: Noun; amount: number; verb: number };

export interface ToyOptions {
  /** 1..4 (number of steps). Omitted: uniform over 1..4. */
  difficulty?: number;
  /** Only problems whose chain uses this fact id (for pretraining frequency control). */
  withFact?: string;
  /** 'train' skips the held-out probe partition, 'probe' keeps only it, 'any' keeps both. */
  split?: 'train' | 'probe' | 'any';
}

export class ToyWorldError extends Error {
  override name = 'ToyWorldError';
}

const ADD_VERBS = ['gets', 'buys'] as const;
const REMOVE_VERBS = ['gives away', 'loses'] as const;

function factCountRange(difficulty: number): [number, number] {
  if (difficulty < 1 || difficulty > MAX_DIFFICULTY || !Number.isInteger(difficulty)) {
    throw new ToyWorldError(`Toy-world difficulty must be an integer from 1 to ${MAX_DIFFICULTY}, got ${difficulty}.`);
  }
  // Number of unpack steps (facts needed); chains are at most three facts long.
  return [[1, 1], [1, 2], [1, 3], [2, 3]][difficulty - 1] as [number, number];
}

interface Draft {
  name: string;
  start: number;
  startUnit: Noun;
  steps: ToyStep[];
  /** values[0] = start, values[i+1] = after step i. */
  values: number[];
  units: Noun[];
}

function applyStep(value: number, step: ToyStep): number {
  switch (step.kind) {
    case 'unpack':
      return value * step.fact.count;
    case 'add':
      return value + step.amount;
    case 'remove':
      return value - step.amount;
  }
}

function draft(rng: Rng, difficulty: number, withFact: string | undefined): Draft | null {
  const [lo, hi] = factCountRange(difficulty);
  const nFacts = rng.int(lo, hi);
  let chains = factChains(nFacts);
  if (withFact !== undefined) chains = chains.filter((c) => c.some((f) => f.id === withFact));
  if (chains.length === 0) return null;
  const chain = rng.pick(chains);
  // Which of the `difficulty` step slots are unpacks (in chain order) and which are arithmetic.
  const slots = rng.shuffle(Array.from({ length: difficulty }, (_, i) => i)).slice(0, nFacts).sort((a, b) => a - b);
  const name = rng.pick(NAMES);
  const start = rng.int(2, 9);
  const maxAmount = 9;
  const steps: ToyStep[] = [];
  const values = [start];
  const units = [chain[0]!.container];
  let factIdx = 0;
  for (let s = 0; s < difficulty; s++) {
    const value = values[values.length - 1]!;
    const unit = units[units.length - 1]!;
    let step: ToyStep;
    if (slots.includes(s)) {
      step = { kind: 'unpack', fact: chain[factIdx++]! };
    } else if (value - 2 >= 2 && rng.next() < 0.5) {
      // Keep at least 2 left so every quantity reads as a plural.
      step = { kind: 'remove', unit, amount: rng.int(2, Math.min(maxAmount, value - 2)), verb: rng.int(0, 1) };
    } else {
      step = { kind: 'add', unit, amount: rng.int(2, maxAmount), verb: rng.int(0, 1) };
    }
    const next = applyStep(value, step);
    if (next > CAP[difficulty]!) return null;
    steps.push(step);
    values.push(next);
    units.push(step.kind === 'unpack' ? step.fact.content : unit);
  }
  return { name, start, startUnit: chain[0]!.container, steps, values, units };
}

function stepSentence(d: Draft, i: number): string {
  const step = d.steps[i]!;
  switch (step.kind) {
    case 'unpack':
      return `${d.name} unpacks the ${step.fact.container.plural} into ${step.fact.content.plural}.`;
    case 'add':
      return `${d.name} ${ADD_VERBS[step.verb]} ${step.amount} more ${step.unit.plural}.`;
    case 'remove':
      return `${d.name} ${REMOVE_VERBS[step.verb]} ${step.amount} ${step.unit.plural}.`;
  }
}

function askSentence(d: Draft, unit: Noun): string {
  return `How many ${unit.plural} does ${d.name} have now?`;
}

function planStep(step: ToyStep): string {
  switch (step.kind) {
    case 'unpack':
      return `Find how many ${step.fact.content.plural} are in the ${step.fact.container.plural}.`;
    case 'add':
      return `Add the new ${step.unit.plural}.`;
    case 'remove':
      return `Subtract the ${step.unit.plural} that are gone.`;
  }
}

function solutionStep(d: Draft, i: number): string {
  const step = d.steps[i]!;
  const before = d.values[i]!;
  const after = d.values[i + 1]!;
  switch (step.kind) {
    case 'unpack': {
      const f = step.fact;
      // The trace recalls the fact before using it, so a supplied fact can be copied from the prompt.
      return `${factSentence(f).slice(0, -1)}, so ${before} ${f.container.plural} hold ${before} * ${f.count} = ${after} ${f.content.plural}.`;
    }
    case 'add':
      return `${before} + ${step.amount} = ${after} ${step.unit.plural}.`;
    case 'remove':
      return `${before} - ${step.amount} = ${after} ${step.unit.plural}.`;
  }
}

/** The content key of a problem: its structure and numbers, not the name or verb wording. */
function contentKey(d: Draft): string {
  const parts = [`${d.start} ${d.startUnit.singular}`];
  for (const s of d.steps) {
    parts.push(s.kind === 'unpack' ? `u:${s.fact.id}` : `${s.kind === 'add' ? '+' : '-'}${s.amount}`);
  }
  return parts.join('|');
}

function finish(d: Draft, difficulty: number): Problem {
  const n = d.steps.length;
  const question = [`${d.name} has ${d.start} ${d.startUnit.plural}.`, ...d.steps.map((_, i) => stepSentence(d, i)), askSentence(d, d.units[n]!)].join(' ');
  const facts = d.steps.flatMap((s) => (s.kind === 'unpack' ? [s.fact] : []));
  const subproblems: Subproblem[] = d.steps.map((_, i) => ({
    question: `${d.name} has ${d.values[i]} ${d.units[i]!.plural}. ${stepSentence(d, i)} ${askSentence(d, d.units[i + 1]!)}`,
    answer: String(d.values[i + 1]),
  }));
  const key = contentKey(d);
  return {
    id: `tw-${hashHex(key)}`,
    task: TOY_TASK,
    question,
    answer: String(d.values[n]),
    plan: d.steps.map(planStep),
    knowledge: facts.map(factSentence),
    subproblems,
    solution: d.steps.map((_, i) => solutionStep(d, i)).join(' '),
    difficulty,
    meta: {
      facts: facts.map((f) => f.id),
      steps: d.steps.map((s) => s.kind),
      values: d.values,
      heldOut: isHeldOut(key),
      contentKey: key,
    },
  };
}

/** Difficulties at which some chain of facts includes `withFact` (all of them without one). */
function feasibleDifficulties(withFact: string | undefined): number[] {
  const all = Array.from({ length: MAX_DIFFICULTY }, (_, i) => i + 1);
  if (withFact === undefined) return all;
  return all.filter((d) => {
    const [lo, hi] = factCountRange(d);
    for (let m = lo; m <= hi; m++) if (factChains(m).some((c) => c.some((f) => f.id === withFact))) return true;
    return false;
  });
}

/** One problem. Deterministic given the rng's state. */
export function generateToyProblem(rng: Rng, opts: ToyOptions = {}): Problem {
  if (opts.withFact !== undefined && !FACT_BY_ID.has(opts.withFact)) {
    throw new ToyWorldError(`Unknown toy-world fact id '${opts.withFact}'.`);
  }
  const split = opts.split ?? 'any';
  // Drawn once, so the number-size cap's retries do not skew the mix toward easy problems.
  const levels = opts.difficulty !== undefined ? [opts.difficulty] : feasibleDifficulties(opts.withFact);
  const difficulty = levels.length === 1 ? levels[0]! : rng.pick(levels);
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const d = draft(rng, difficulty, opts.withFact);
    if (!d) continue;
    const held = isHeldOut(contentKey(d));
    if ((split === 'train' && held) || (split === 'probe' && !held)) continue;
    return finish(d, difficulty);
  }
  throw new ToyWorldError(
    `Could not generate a toy-world problem with difficulty ${difficulty}${opts.withFact ? ` using fact '${opts.withFact}'` : ''}: no chain of facts fits.`,
  );
}

export function generateToyProblems(seed: number, n: number, opts: ToyOptions = {}): Problem[] {
  const rng = new Rng(seed);
  return Array.from({ length: n }, () => generateToyProblem(rng, opts));
}

/** A subproblem as a problem of its own, so probes can ask it with the same prompt format. */
export function subproblemAsProblem(problem: Problem, index: number): Problem {
  const sub = problem.subproblems?.[index];
  if (!sub) throw new ToyWorldError(`Problem ${problem.id} has no subproblem ${index}.`);
  return { id: `${problem.id}/sub${index}`, task: problem.task, question: sub.question, answer: sub.answer, difficulty: 1 };
}

export interface SlippedTrace {
  solution: string;
  answer: string;
  /** How many unpack steps were written as additions. */
  slips: number;
}

/** Facts whose content holds nothing: unpacking the smallest containers into items. */
export function isItemFact(fact: Fact): boolean {
  return !TOY_FACTS.some((g) => g.container.singular === fact.content.singular);
}

/**
 * The trace of a solver with the classic additive misconception: unpacking small containers into
 * items, at each such step independently with probability `rate`, it adds the count instead of
 * multiplying ("6 jars hold 6 + 9 = 15 beans"), and every later step carries the wrong value on
 * with correct arithmetic. Pretraining on such traces plants a habit the base model samples both
 * ways, which is what a correctness reward can fix. Rebuilt from `meta`, so it works on any
 * toy-world problem this module made.
 */
export function slippedTrace(problem: Problem, rate: number, rng: Rng): SlippedTrace {
  const meta = problem.meta as { steps?: ToyStep['kind'][]; values?: number[]; facts?: string[] } | undefined;
  const kinds = meta?.steps;
  const values = meta?.values;
  const factIds = meta?.facts;
  if (!kinds || !values || !factIds || values.length !== kinds.length + 1 || factIds.length === 0) {
    throw new ToyWorldError(`Problem ${problem.id} is not a toy-world problem with step metadata.`);
  }
  const facts = factIds.map((id) => {
    const f = FACT_BY_ID.get(id);
    if (!f) throw new ToyWorldError(`Unknown toy-world fact id '${id}' in problem ${problem.id}.`);
    return f;
  });
  const d: Draft = { name: '', start: values[0]!, startUnit: facts[0]!.container, steps: [], values: [values[0]!], units: [facts[0]!.container] };
  const sentences: string[] = [];
  let factIdx = 0;
  let slips = 0;
  kinds.forEach((kind, i) => {
    const unit = d.units[i]!;
    const before = d.values[i]!;
    const step: ToyStep = kind === 'unpack' ? { kind, fact: facts[factIdx++]! } : { kind, unit, amount: Math.abs(values[i + 1]! - values[i]!), verb: 0 };
    d.steps.push(step);
    if (step.kind === 'unpack' && isItemFact(step.fact) && rng.next() < rate) {
      const f = step.fact;
      const after = before + f.count;
      d.values.push(after);
      sentences.push(`${factSentence(f).slice(0, -1)}, so ${before} ${f.container.plural} hold ${before} + ${f.count} = ${after} ${f.content.plural}.`);
      slips++;
    } else {
      d.values.push(applyStep(before, step));
      sentences.push(solutionStep(d, i));
    }
    d.units.push(step.kind === 'unpack' ? step.fact.content : unit);
  });
  return { solution: sentences.join(' '), answer: String(d.values[d.values.length - 1]), slips };
}
