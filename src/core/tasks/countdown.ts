/**
 * TinyZero's Countdown: given 3-4 numbers and a target, write an equation that uses each
 * number exactly once and equals the target. Every generated instance is solvable: the
 * target is the value of a random equation over the numbers.
 */
import { Rng } from '../rng';
import type { Problem } from '../types';
import { ArithError, parseExpression } from './arith';
import { hashHex, isHeldOut } from './hash';

export const COUNTDOWN_TASK = 'countdown';

export interface CountdownMeta {
  numbers: number[];
  target: number;
}

export interface CountdownCheck {
  ok: boolean;
  /** Why it failed, in words (for rollout viewers and tests). */
  reason: 'ok' | 'unparseable' | 'wrong-numbers' | 'wrong-value';
  value?: number;
}

function key(numbers: number[], target: number): string {
  return `${[...numbers].sort((a, b) => a - b).join(',')}->${target}`;
}

function countdownQuestion(numbers: number[], target: number): string {
  return `Using the numbers [${numbers.join(', ')}], create an equation that equals ${target}. You can use + - * / and each number exactly once.`;
}

/** A random expression over all the numbers whose every intermediate is a positive integer. */
function randomEquation(rng: Rng, numbers: number[]): { text: string; value: number } | null {
  const items = numbers.map((n) => ({ text: String(n), value: n }));
  rng.shuffle(items);
  let acc = items[0]!;
  for (let i = 1; i < items.length; i++) {
    const b = items[i]!;
    const ops = ['+', '-', '*', '/'].filter((op) => {
      if (op === '-') return acc.value - b.value > 0;
      if (op === '/') return acc.value % b.value === 0 && b.value > 1;
      if (op === '*') return acc.value * b.value <= 1000;
      return true;
    });
    const op = rng.pick(ops);
    const value = op === '+' ? acc.value + b.value : op === '-' ? acc.value - b.value : op === '*' ? acc.value * b.value : acc.value / b.value;
    acc = { text: i === 1 ? `${acc.text} ${op} ${b.text}` : `(${acc.text}) ${op} ${b.text}`, value };
  }
  return acc.value >= 1 && acc.value <= 100 ? acc : null;
}

export function generateCountdownProblem(rng: Rng, split: 'train' | 'probe' | 'any' = 'any'): Problem {
  for (let attempt = 0; attempt < 10_000; attempt++) {
    const count = rng.int(3, 4);
    const numbers = Array.from({ length: count }, () => rng.int(1, 99));
    const eq = randomEquation(rng, numbers);
    if (!eq) continue;
    const k = key(numbers, eq.value);
    const held = isHeldOut(k);
    if ((split === 'train' && held) || (split === 'probe' && !held)) continue;
    const meta: CountdownMeta = { numbers, target: eq.value };
    return {
      id: `cd-${hashHex(k)}`,
      task: COUNTDOWN_TASK,
      question: countdownQuestion(numbers, eq.value),
      answer: eq.text,
      solution: `${eq.text} = ${eq.value}.`,
      difficulty: count - 2,
      meta: { ...meta, heldOut: held, contentKey: k },
    };
  }
  throw new Error('Countdown: could not generate a problem (this is a bug).');
}

export function readCountdownMeta(problem: Problem): CountdownMeta | null {
  const m = problem.meta;
  if (!m || !Array.isArray(m.numbers) || typeof m.target !== 'number') return null;
  if (!m.numbers.every((n): n is number => typeof n === 'number')) return null;
  return { numbers: m.numbers, target: m.target };
}

/**
 * Check an equation against the numbers and target. Accepts "expr" or "expr = target"
 * (models often write the result); the numbers must be a permutation of the given ones.
 */
export function checkCountdown(equation: string, meta: CountdownMeta): CountdownCheck {
  let text = equation.trim();
  const eq = text.split('=');
  if (eq.length > 2) return { ok: false, reason: 'unparseable' };
  if (eq.length === 2) {
    const rhs = eq[1]!.trim();
    if (rhs !== '' && Number(rhs) !== meta.target) return { ok: false, reason: 'wrong-value' };
    text = eq[0]!;
  }
  let parsed;
  try {
    parsed = parseExpression(text);
  } catch (e) {
    if (e instanceof ArithError) return { ok: false, reason: 'unparseable' };
    throw e;
  }
  const used = [...parsed.numbers].sort((a, b) => a - b);
  const given = [...meta.numbers].sort((a, b) => a - b);
  if (used.length !== given.length || used.some((n, i) => n !== given[i])) {
    return { ok: false, reason: 'wrong-numbers', value: parsed.value };
  }
  if (Math.abs(parsed.value - meta.target) > 1e-6) return { ok: false, reason: 'wrong-value', value: parsed.value };
  return { ok: true, reason: 'ok', value: parsed.value };
}
