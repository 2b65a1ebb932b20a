/** Choosing the next token from one row of logits, on the host, with a seeded Rng. */
import type { Rng } from '../rng';

export interface SampleSettings {
  /** 0 means greedy. */
  temperature: number;
  topK?: number;
  topP?: number;
  /** Drop tokens whose probability is below minP × the likeliest token's (HF's MinPLogitsWarper); 0 or undefined: off. */
  minP?: number;
  /** HF's RepetitionPenaltyLogitsProcessor: logits of tokens in `seen` are divided by it (multiplied when negative); 1 or undefined: off. */
  repetitionPenalty?: number;
}

/** The logits after the repetition penalty (a copy; the input is untouched). */
function penalise(logits: Float32Array, penalty: number, seen: Iterable<number>): Float32Array {
  const out = Float32Array.from(logits);
  for (const t of new Set(seen)) {
    const l = logits[t];
    if (l !== undefined) out[t] = l < 0 ? l * penalty : l / penalty;
  }
  return out;
}

/**
 * Returns the chosen token and its log-prob under the full softmax of logits / temperature
 * (temperature 0 counts as 1): the distribution GRPO's importance ratios refer to, even when
 * top-k / top-p restricted the draw.
 */
export function sampleToken(raw: Float32Array, s: SampleSettings, rng: Rng, seen: Iterable<number> = []): { token: number; logprob: number } {
  const logits = s.repetitionPenalty !== undefined && s.repetitionPenalty !== 1 ? penalise(raw, s.repetitionPenalty, seen) : raw;
  const V = logits.length;
  const temp = s.temperature > 0 ? s.temperature : 1;
  let max = -Infinity;
  let argmax = 0;
  for (let i = 0; i < V; i++) {
    if (logits[i]! > max) {
      max = logits[i]!;
      argmax = i;
    }
  }
  let z = 0;
  for (let i = 0; i < V; i++) z += Math.exp((logits[i]! - max) / temp);
  const logZ = Math.log(z);
  const logprobOf = (t: number) => (logits[t]! - max) / temp - logZ;
  if (!(s.temperature > 0)) return { token: argmax, logprob: logprobOf(argmax) };

  const k = s.topK && s.topK > 0 && s.topK < V ? s.topK : V;
  const p = s.topP !== undefined && s.topP > 0 && s.topP < 1 ? s.topP : 1;
  const minP = s.minP ?? 0;
  let candidates: number[];
  if (k === V && p === 1 && minP === 0) {
    // Plain sampling: inverse CDF over the whole vocabulary, no sort needed.
    let u = rng.next() * z;
    for (let i = 0; i < V; i++) {
      u -= Math.exp((logits[i]! - max) / temp);
      if (u <= 0) return { token: i, logprob: logprobOf(i) };
    }
    return { token: argmax, logprob: logprobOf(argmax) };
  }
  candidates = Array.from({ length: V }, (_, i) => i);
  candidates.sort((a, b) => logits[b]! - logits[a]! || a - b);
  candidates = candidates.slice(0, k);
  if (p < 1) {
    // Keep the smallest prefix whose probability reaches p (at least one token), as HF's TopPLogitsWarper.
    let cum = 0;
    let keep = 0;
    let zk = 0;
    for (const t of candidates) zk += Math.exp((logits[t]! - max) / temp);
    while (keep < candidates.length) {
      cum += Math.exp((logits[candidates[keep]!]! - max) / temp) / zk;
      keep++;
      if (cum >= p) break;
    }
    candidates = candidates.slice(0, keep);
  }
  // A token's probability relative to the likeliest one is exp((l − max) / T), whatever was cut before.
  if (minP > 0) candidates = candidates.filter((t, j) => j === 0 || Math.exp((logits[t]! - max) / temp) >= minP);
  const weights = candidates.map((t) => Math.exp((logits[t]! - max) / temp));
  let u = rng.next() * weights.reduce((a, b) => a + b, 0);
  for (let j = 0; j < candidates.length; j++) {
    u -= weights[j]!;
    if (u <= 0) return { token: candidates[j]!, logprob: logprobOf(candidates[j]!) };
  }
  const last = candidates[candidates.length - 1]!;
  return { token: last, logprob: logprobOf(last) };
}
