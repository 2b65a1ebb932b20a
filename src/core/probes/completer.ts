/**
 * Turns the engine (a model plus a `generate` function and a tokenizer) into the `complete`
 * function the probes, the app and the trainer use: text prompts in, text completions out,
 * batched across prompts and samples.
 */
import type { GenerateOptions, GenerateResult } from '../model/types';
import { THINK_OPEN, ANSWER_CLOSE } from '../tasks/prompt';
import type { CompleteFn, CompleteOptions } from './run';

/** The part of the engine's tokenizer the completer needs (src/core/tokenizer.ts satisfies it). */
export interface CompleterTokenizer {
  encode(text: string, opts?: { addSpecialTokens?: boolean }): number[];
  decode(ids: number[], opts?: { skipSpecialTokens?: boolean }): string;
  readonly eosTokenIds: number[];
  readonly padTokenId: number;
  readonly hasChatTemplate?: boolean;
  formatPrompt?(userText: string): string;
}

export type GenerateFn<M> = (model: M, prompts: number[][], opts: GenerateOptions) => Promise<GenerateResult>;

export interface CompleterOptions<M> {
  /** The engine's batched sampler (src/core/model/generate.ts). */
  generate: GenerateFn<M>;
  maxNewTokens?: number;
  /** Rows per generate call (prompts × samples are flattened into rows). */
  batchSize?: number;
  topK?: number;
  topP?: number;
  /** Default: stop once the answer is closed. */
  stopStrings?: string[];
  /**
   * Wrap the question part in the model's chat template and keep "<think>…" as the start of
   * the assistant turn. Default: when the tokenizer has a chat template.
   */
  chatTemplate?: boolean;
  /** Progress after each generate call: rows done out of total. */
  onProgress?: (done: number, total: number) => void | Promise<void>;
}

export class CompleterError extends Error {
  override name = 'CompleterError';
}

/** Put a rendered prompt's question block in the chat template; the think part stays raw. */
export function applyChatTemplate(prompt: string, formatPrompt: (userText: string) => string): string {
  const i = prompt.lastIndexOf(`\n${THINK_OPEN}`);
  if (i < 0) return formatPrompt(prompt);
  return formatPrompt(prompt.slice(0, i)) + prompt.slice(i + 1);
}

function mixSeed(seed: number, chunk: number): number {
  return (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(chunk + 1, 0x85ebca6b)) >>> 0;
}

export function makeCompleter<M>(model: M, tokenizer: CompleterTokenizer, opts: CompleterOptions<M>): CompleteFn {
  const batchSize = opts.batchSize ?? 32;
  const maxNewTokens = opts.maxNewTokens ?? 192;
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new CompleterError(`batchSize must be a positive integer, got ${batchSize}.`);
  const useChat = opts.chatTemplate ?? tokenizer.hasChatTemplate === true;
  if (useChat && !tokenizer.formatPrompt) throw new CompleterError('chatTemplate was requested but the tokenizer has no formatPrompt.');
  const eos = new Set(tokenizer.eosTokenIds);
  // Strip EOS/padding by id and keep other special tokens: <think>/<answer> may be special tokens.
  // transformers.js refuses to decode an empty list: a completion that is only EOS is the empty text.
  const decode = (ids: number[]): string => {
    const kept = ids.filter((t) => !eos.has(t));
    return kept.length === 0 ? '' : tokenizer.decode(kept, { skipSpecialTokens: false });
  };

  return async (prompts: string[], c: CompleteOptions): Promise<string[][]> => {
    if (!Number.isInteger(c.samples) || c.samples < 1) throw new CompleterError(`samples must be a positive integer, got ${c.samples}.`);
    // Called as a method: the engine's Tokenizer reads its own fields in formatPrompt.
    const format = (text: string): string => tokenizer.formatPrompt!(text);
    const encoded = prompts.map((p) => tokenizer.encode(useChat ? applyChatTemplate(p, format) : p, { addSpecialTokens: !useChat }));
    const rows: { prompt: number; ids: number[] }[] = [];
    encoded.forEach((ids, prompt) => {
      for (let s = 0; s < c.samples; s++) rows.push({ prompt, ids });
    });
    // Similar lengths share a batch so left padding stays short; the sort is stable, so deterministic.
    const order = rows.map((_, i) => i).sort((a, b) => rows[a]!.ids.length - rows[b]!.ids.length);
    const out: string[][] = prompts.map(() => []);
    const texts: string[] = new Array<string>(rows.length);
    for (let start = 0, chunk = 0; start < order.length; start += batchSize, chunk++) {
      const idx = order.slice(start, start + batchSize);
      const res = await opts.generate(
        model,
        idx.map((i) => rows[i]!.ids),
        {
          maxNewTokens,
          temperature: c.temperature,
          ...(opts.topK !== undefined ? { topK: opts.topK } : {}),
          ...(opts.topP !== undefined ? { topP: opts.topP } : {}),
          seed: mixSeed(c.seed, chunk),
          eosTokenIds: tokenizer.eosTokenIds,
          padTokenId: tokenizer.padTokenId,
          stopStrings: opts.stopStrings ?? [ANSWER_CLOSE],
          decode,
        },
      );
      if (res.tokens.length !== idx.length) throw new CompleterError(`generate returned ${res.tokens.length} rows for a batch of ${idx.length}.`);
      idx.forEach((rowIdx, j) => {
        texts[rowIdx] = decode(res.tokens[j]!);
      });
      await opts.onProgress?.(Math.min(start + batchSize, order.length), order.length);
    }
    rows.forEach((r, i) => out[r.prompt]!.push(texts[i]!));
    return out;
  };
}
