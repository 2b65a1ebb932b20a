/**
 * Trains a small BPE tokenizer and writes it as a Hugging Face tokenizer.json, laid out like
 * Llama-2's (spaces → "▁" in the normalizer, no pre-tokenizer, Replace + Fuse decoder), so that
 * @huggingface/transformers in the page and `tokenizers` in Python both load it and decode exactly.
 *
 * Digits are never merged: every number is spelled one digit per token, which is what lets a
 * model of a few million parameters learn column arithmetic.
 */

export const SPACE = '\u2581';

export interface BpeSpec {
  /** Target vocabulary size including the alphabet and the added tokens. */
  vocabSize: number;
  /** Added tokens: atomic, never split; the first is the end-of-text token. */
  addedTokens: { content: string; special: boolean }[];
  unkToken: string;
}

export interface TrainedBpe {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  vocabSize: number;
}

/** Printable ASCII plus newline and the space marker: any English text encodes without <unk>. */
function baseAlphabet(): string[] {
  const chars = ['\n', SPACE];
  for (let c = 33; c < 127; c++) chars.push(String.fromCharCode(c));
  return chars;
}

const hasDigit = (s: string): boolean => /[0-9]/.test(s);

/** Words as the model sees them: each space becomes the marker glued to the word after it. */
function corpusWords(texts: Iterable<string>, added: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  const addedRe = new RegExp(added.map((a) => a.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'g');
  for (const text of texts) {
    for (const section of text.split(addedRe)) {
      const marked = section.replaceAll(' ', SPACE);
      for (const word of marked.split(/(?=\u2581)|(\n)/)) {
        if (word) counts.set(word, (counts.get(word) ?? 0) + 1);
      }
    }
  }
  return counts;
}

export function trainBpe(texts: Iterable<string>, spec: BpeSpec): TrainedBpe {
  const added = spec.addedTokens.map((t) => t.content);
  const vocab = new Map<string, number>();
  const push = (tok: string): void => {
    if (!vocab.has(tok)) vocab.set(tok, vocab.size);
  };
  // Added tokens first so their ids are small and stable; unk next; then the alphabet.
  for (const t of added) push(t);
  push(spec.unkToken);
  for (const c of baseAlphabet()) push(c);

  const words = [...corpusWords(texts, added)].map(([w, n]) => ({ parts: [...w], n }));
  const merges: [string, string][] = [];
  while (vocab.size < spec.vocabSize) {
    const pairCounts = new Map<string, number>();
    for (const { parts, n } of words) {
      for (let i = 0; i + 1 < parts.length; i++) {
        const a = parts[i]!;
        const b = parts[i + 1]!;
        if (hasDigit(a) || hasDigit(b) || b.startsWith(SPACE) || a === '\n' || b === '\n') continue;
        const key = a + '\u0000' + b;
        pairCounts.set(key, (pairCounts.get(key) ?? 0) + n);
      }
    }
    let best: string | null = null;
    let bestCount = 1; // a pair seen once is not worth a token
    for (const [key, n] of pairCounts) {
      if (n > bestCount || (n === bestCount && best !== null && key < best)) {
        best = key;
        bestCount = n;
      }
    }
    if (best === null) break;
    const [a, b] = best.split('\u0000') as [string, string];
    merges.push([a, b]);
    push(a + b);
    for (const w of words) {
      const out: string[] = [];
      for (let i = 0; i < w.parts.length; i++) {
        if (i + 1 < w.parts.length && w.parts[i] === a && w.parts[i + 1] === b) {
          out.push(a + b);
          i++;
        } else out.push(w.parts[i]!);
      }
      w.parts = out;
    }
  }

  const tokenizerJson = {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: spec.addedTokens.map((t) => ({
      id: vocab.get(t.content)!,
      content: t.content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: t.special,
    })),
    normalizer: { type: 'Replace', pattern: { String: ' ' }, content: SPACE },
    pre_tokenizer: null,
    post_processor: null,
    decoder: {
      type: 'Sequence',
      decoders: [{ type: 'Replace', pattern: { String: SPACE }, content: ' ' }, { type: 'Fuse' }],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: spec.unkToken,
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: false,
      ignore_merges: false,
      vocab: Object.fromEntries(vocab),
      merges: merges.map(([a, b]) => [a, b]),
    },
  };
  const eos = added[0]!;
  const tokenizerConfig = {
    tokenizer_class: 'PreTrainedTokenizerFast',
    bos_token: null,
    eos_token: eos,
    pad_token: eos,
    unk_token: spec.unkToken,
    add_bos_token: false,
    add_eos_token: false,
    clean_up_tokenization_spaces: false,
    model_max_length: 1024,
    added_tokens_decoder: Object.fromEntries(
      spec.addedTokens.map((t) => [
        String(vocab.get(t.content)!),
        { content: t.content, lstrip: false, rstrip: false, normalized: false, single_word: false, special: t.special },
      ]),
    ),
  };
  return { tokenizerJson, tokenizerConfig, vocabSize: vocab.size };
}
