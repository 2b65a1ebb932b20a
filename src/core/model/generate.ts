/**
 * Batched sampling: prompts left-padded, one prefill, then one token per step through the KV
 * cache. Logits of the last position come back to the host, where a seeded Rng draws.
 */
import type { FinishReason, GenerateOptions, GenerateResult } from './types';
import { disposeCache, type CausalLM, type KVCache } from './causal-lm';
import { sampleToken } from './sampling';
import { EngineInputError } from './errors';
import { Rng } from '../rng';

function validate(model: CausalLM, prompts: number[][], opts: GenerateOptions): void {
  if (prompts.length === 0) throw new EngineInputError('generate: no prompts given.');
  prompts.forEach((p, i) => {
    if (p.length === 0) throw new EngineInputError(`generate: prompt ${i} is empty; give at least one token (e.g. BOS).`);
    for (const t of p) {
      if (!Number.isInteger(t) || t < 0 || t >= model.config.vocabSize) {
        throw new EngineInputError(`generate: prompt ${i} holds token id ${t}, outside the model's vocabulary of ${model.config.vocabSize}.`);
      }
    }
  });
  if (!(opts.maxNewTokens >= 0)) throw new EngineInputError(`generate: maxNewTokens must be ≥ 0 (got ${opts.maxNewTokens}).`);
  if (opts.stopStrings?.length && !opts.decode) throw new EngineInputError('generate: stopStrings need opts.decode to turn ids into text.');
}

async function generateImpl(model: CausalLM, prompts: number[][], opts: GenerateOptions, useCache: boolean): Promise<GenerateResult> {
  validate(model, prompts, opts);
  const B = prompts.length;
  const P = Math.max(...prompts.map((p) => p.length));
  const V = model.config.vocabSize;
  const rng = new Rng(opts.seed);
  const eos = new Set(opts.eosTokenIds);
  // Every row's whole sequence so far (left pads included) and its key mask.
  const seqs: number[][] = prompts.map((p) => [...new Array<number>(P - p.length).fill(opts.padTokenId), ...p]);
  const masks: number[][] = prompts.map((p) => [...new Array<number>(P - p.length).fill(0), ...new Array<number>(p.length).fill(1)]);
  const tokens: number[][] = prompts.map(() => []);
  const logprobs: number[][] = prompts.map(() => []);
  const finish: (FinishReason | null)[] = prompts.map(() => null);
  if (opts.maxNewTokens === 0) return { tokens, logprobs, finish: finish.map(() => 'length') };

  let cache: KVCache | null = null;
  const positionsOf = (b: number, from: number, to: number) => {
    const out: number[] = [];
    let c = 0;
    for (let j = 0; j < to; j++) {
      if (j >= from) out.push(masks[b]![j] ? c : 0);
      if (masks[b]![j]) c++;
    }
    return out;
  };
  const runForward = async (first: boolean): Promise<Float32Array> => {
    const S = seqs[0]!.length;
    const from = useCache && !first ? S - 1 : 0;
    const T = S - from;
    const ids = new Int32Array(B * T);
    const positions = new Int32Array(B * T);
    for (let b = 0; b < B; b++) {
      ids.set(seqs[b]!.slice(from), b * T);
      positions.set(positionsOf(b, from, S), b * T);
    }
    const { logits, cache: next } = model.forward({
      ids,
      batch: B,
      length: T,
      positions,
      attentionMask: Int32Array.from(masks.flat()),
      cache,
      returnCache: useCache,
      lastOnly: true,
    });
    disposeCache(cache);
    cache = next;
    const data = (await logits.data()) as Float32Array;
    logits.dispose();
    return data;
  };

  try {
    let logits = await runForward(true);
    for (let step = 0; step < opts.maxNewTokens; step++) {
      for (let b = 0; b < B; b++) {
        if (finish[b]) {
          seqs[b]!.push(opts.padTokenId);
          // Keep the pad visible to nothing but itself: its row is finished and its output unused.
          masks[b]!.push(1);
          continue;
        }
        const { token, logprob } = sampleToken(logits.subarray(b * V, (b + 1) * V), opts, rng, opts.repetitionPenalty !== undefined && opts.repetitionPenalty !== 1 ? [...prompts[b]!, ...tokens[b]!] : []);
        tokens[b]!.push(token);
        logprobs[b]!.push(logprob);
        seqs[b]!.push(token);
        masks[b]!.push(1);
        if (eos.has(token)) finish[b] = 'eos';
        else if (opts.stopStrings?.length) {
          const text = opts.decode!(tokens[b]!);
          if (opts.stopStrings.some((s) => s.length > 0 && text.includes(s))) finish[b] = 'stop';
        }
        if (!finish[b] && tokens[b]!.length >= opts.maxNewTokens) finish[b] = 'length';
      }
      await opts.onStep?.(step);
      if (finish.every((f) => f !== null)) break;
      logits = await runForward(false);
    }
  } finally {
    disposeCache(cache);
  }
  return { tokens, logprobs, finish: finish.map((f) => f ?? 'length') };
}

/** Sample completions for a batch of prompts with the KV cache. */
export function generate(model: CausalLM, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  return generateImpl(model, prompts, opts, true);
}

/** The same sampling, recomputing the whole sequence each step (no cache): a reference for tests and the benchmark. */
export function generateNaive(model: CausalLM, prompts: number[][], opts: GenerateOptions): Promise<GenerateResult> {
  return generateImpl(model, prompts, opts, false);
}

/** Greedy decoding convenience: temperature 0. */
export function greedyOptions(maxNewTokens: number, eosTokenIds: number[], padTokenId: number): GenerateOptions {
  return { maxNewTokens, temperature: 0, seed: 0, eosTokenIds, padTokenId };
}

