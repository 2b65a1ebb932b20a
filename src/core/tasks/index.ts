/**
 * The task registry: one interface over the toy world, Countdown and imported JSONL, with a
 * training sampler and a fixed held-out probe set that never overlaps it.
 */
import { Rng } from '../rng';
import type { Problem } from '../types';
import type { TaskSpec } from '../domain';
import { generateCountdownProblem } from './countdown';
import { fnv1a } from './hash';
import { parseJsonl } from './jsonl';
import { generateToyProblem, MAX_DIFFICULTY } from './toy-world';

export interface Task {
  name: string;
  /** n training problems; never returns a probe-set problem. */
  sample(rng: Rng, n: number): Problem[];
  /** The fixed, seeded, held-out probe set (same seed, same problems). */
  probeSet(seed: number, n: number): Problem[];
}

export class TaskError extends Error {
  override name = 'TaskError';
}

function toyWorldTask(difficulty: number | undefined): Task {
  if (difficulty !== undefined && (!Number.isInteger(difficulty) || difficulty < 1 || difficulty > MAX_DIFFICULTY)) {
    throw new TaskError(`Toy-world difficulty must be an integer from 1 to ${MAX_DIFFICULTY}, got ${difficulty}.`);
  }
  const opts = difficulty === undefined ? {} : { difficulty };
  return {
    name: difficulty === undefined ? 'toy-world' : `toy-world-d${difficulty}`,
    sample: (rng, n) => Array.from({ length: n }, () => generateToyProblem(rng, { ...opts, split: 'train' })),
    probeSet: (seed, n) => {
      const rng = new Rng(seed);
      const seen = new Set<string>();
      const out: Problem[] = [];
      // Distinct problems, so a probe score is not weighted toward a repeat.
      for (let tries = 0; out.length < n && tries < n * 50; tries++) {
        const p = generateToyProblem(rng, { ...opts, split: 'probe' });
        if (seen.has(p.id)) continue;
        seen.add(p.id);
        out.push(p);
      }
      return out;
    },
  };
}

function countdownTask(): Task {
  return {
    name: 'countdown',
    sample: (rng, n) => Array.from({ length: n }, () => generateCountdownProblem(rng, 'train')),
    probeSet: (seed, n) => {
      const rng = new Rng(seed);
      return Array.from({ length: n }, () => generateCountdownProblem(rng, 'probe'));
    },
  };
}

/**
 * A fixed data set: the eighth of it with the smallest content hashes is held out (at least one
 * problem when there are two or more), so the split does not depend on the file's order.
 */
export function jsonlTask(name: string, problems: Problem[]): Task {
  if (problems.length < 2) throw new TaskError(`The data set '${name}' needs at least 2 problems (one is held out for probes).`);
  const ranked = problems.map((p) => ({ p, h: fnv1a(`holdout:${p.question}`) })).sort((a, b) => a.h - b.h || (a.p.id < b.p.id ? -1 : 1));
  const nHeld = Math.max(1, Math.ceil(problems.length / 8));
  const held = ranked.slice(0, nHeld).map((x) => x.p);
  const heldQuestions = new Set(held.map((p) => p.question));
  const train = problems.filter((p) => !heldQuestions.has(p.question));
  if (train.length === 0) throw new TaskError(`The data set '${name}' has no training problems left after holding out probe problems.`);
  return {
    name: `jsonl:${name}`,
    sample: (rng, n) => {
      const out: Problem[] = [];
      // Without replacement inside one call, so a batch does not repeat a prompt while others wait.
      let pool: Problem[] = [];
      while (out.length < n) {
        if (pool.length === 0) pool = rng.shuffle([...train]);
        out.push(pool.pop()!);
      }
      return out;
    },
    probeSet: (seed, n) => new Rng(seed).shuffle([...held]).slice(0, n),
  };
}

export function createTask(spec: TaskSpec): Task {
  switch (spec.kind) {
    case 'toy-world':
      return toyWorldTask(spec.difficulty);
    case 'countdown':
      return countdownTask();
    case 'jsonl':
      return jsonlTask(spec.name, parseJsonl(spec.text, spec.name));
  }
}

export { renderPrompt, renderTarget, splitSolution } from './prompt';
