/** The reward and the 128 completions both sandbox benchmarks score. */
import type { Problem } from '../src/core/types';

export const REWARD = `(completion, problem) => {
  const m = /<answer>([\\s\\S]*?)<\\/answer>/.exec(completion);
  if (!m) return 0;
  const raw = m[1].trim().replace(/,/g, '');
  const want = String(problem.answer).trim();
  let score = 0;
  if (raw === want) score += 1;
  else {
    const a = Number(raw), b = Number(want);
    if (Number.isFinite(a) && Number.isFinite(b) && Math.abs(a - b) < 1e-6) score += 1;
  }
  const think = /<think>([\\s\\S]*?)<\\/think>/.exec(completion);
  if (think) {
    const words = think[1].split(/\\s+/).filter(Boolean).length;
    score += words > 3 && words < 200 ? 0.1 : 0;
  }
  if (completion.length > 400) score -= 0.1;
  const steps = (completion.match(/=/g) || []).length;
  score += Math.min(steps, 4) * 0.01;
  return score;
}`;

export const N = 128;
export const PROBLEMS: Problem[] = Array.from({ length: N }, (_, i) => ({ id: `p${i}`, task: 'bench', question: `What is ${i} + ${i}?`, answer: String(2 * i) }));
export const COMPLETIONS = PROBLEMS.map((p, i) => `<think>${i} + ${i} = ${2 * i}, so the sum is ${2 * i}.</think> <answer>${i % 3 === 0 ? Number(p.answer) + 1 : p.answer}</answer>`);

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}
