/**
 * A thin wrapper over @huggingface/transformers' tokenizer, built from the parsed tokenizer.json and
 * tokenizer_config.json, so the same code serves Hub downloads, user files and the embedded model.
 */
import * as hf from '@huggingface/transformers';
import { TokenizerError } from './model/errors';

/** The part of transformers.js' PreTrainedTokenizer this wrapper uses. */
interface HfTokenizer {
  encode(text: string, opts: { add_special_tokens: boolean }): number[];
  decode(ids: number[], opts: { skip_special_tokens: boolean }): string;
  apply_chat_template(messages: { role: string; content: string }[], opts: { tokenize: false; add_generation_prompt: boolean }): string;
  get_vocab(): Map<string, number>;
  chat_template: unknown;
  eos_token_id: number | undefined;
  bos_token_id: number | undefined;
  pad_token_id: number | undefined;
  all_special_ids: number[];
}

type TokenizerCtor = new (json: object, config: object) => HfTokenizer;

export interface TokenizerFiles {
  tokenizerJson: Record<string, unknown>;
  tokenizerConfig: Record<string, unknown>;
  /** generation_config.json, whose eos_token_id may list more stop tokens (e.g. <|im_end|> and <|endoftext|>). */
  generationConfig?: Record<string, unknown> | null;
}

function ids(v: unknown): number[] {
  if (typeof v === 'number' && Number.isInteger(v)) return [v];
  if (Array.isArray(v)) return v.filter((x): x is number => typeof x === 'number' && Number.isInteger(x));
  return [];
}

export class Tokenizer {
  readonly eosTokenIds: number[];
  readonly padTokenId: number;
  readonly bosTokenId: number | null;
  readonly vocabSize: number;
  readonly hasChatTemplate: boolean;
  private readonly tok: HfTokenizer;

  constructor(files: TokenizerFiles) {
    const name = typeof files.tokenizerConfig.tokenizer_class === 'string' ? files.tokenizerConfig.tokenizer_class.replace(/Fast$/, '') : 'PreTrainedTokenizer';
    // As AutoTokenizer: the class named in tokenizer_config.json (Llama's, Qwen2's...) where transformers.js has it.
    const lib = hf as unknown as Record<string, unknown>;
    const base = hf.PreTrainedTokenizer as unknown as TokenizerCtor;
    const candidate = lib[name];
    const Ctor = typeof candidate === 'function' && (candidate === base || candidate.prototype instanceof base) ? (candidate as TokenizerCtor) : base;
    try {
      this.tok = new Ctor(files.tokenizerJson, files.tokenizerConfig);
    } catch (e) {
      throw new TokenizerError(`tokenizer.json could not be loaded by transformers.js: ${(e as Error).message}`);
    }
    let max = -1;
    for (const id of this.tok.get_vocab().values()) max = Math.max(max, id);
    for (const id of this.tok.all_special_ids) max = Math.max(max, id);
    this.vocabSize = max + 1;
    const eos = new Set<number>(ids(this.tok.eos_token_id));
    for (const id of ids(files.generationConfig?.eos_token_id)) eos.add(id);
    this.eosTokenIds = [...eos];
    this.bosTokenId = this.tok.bos_token_id ?? null;
    const pad = this.tok.pad_token_id ?? this.eosTokenIds[0];
    if (pad === undefined) throw new TokenizerError('The tokenizer defines neither a pad token nor an EOS token; set "pad_token" or "eos_token" in tokenizer_config.json.');
    this.padTokenId = pad;
    this.hasChatTemplate = this.tok.chat_template !== null && this.tok.chat_template !== undefined;
  }

  encode(text: string, opts: { addSpecialTokens?: boolean } = {}): number[] {
    return this.tok.encode(text, { add_special_tokens: opts.addSpecialTokens ?? true });
  }

  decode(tokenIds: number[], opts: { skipSpecialTokens?: boolean } = {}): string {
    return this.tok.decode(tokenIds, { skip_special_tokens: opts.skipSpecialTokens ?? false });
  }

  /** The text of each token on its own, for showing tokens side by side. */
  tokenPieces(tokenIds: number[]): string[] {
    return tokenIds.map((id) => this.tok.decode([id], { skip_special_tokens: false }));
  }

  /** The user's text as the model expects a prompt: through the chat template when there is one. */
  formatPrompt(userText: string): string {
    if (!this.hasChatTemplate) return userText;
    return this.tok.apply_chat_template([{ role: 'user', content: userText }], { tokenize: false, add_generation_prompt: true });
  }

  /** Throws when the tokenizer can produce ids the model has no embedding for. */
  checkModelVocab(modelVocabSize: number): void {
    if (this.vocabSize > modelVocabSize) {
      throw new TokenizerError(
        `The tokenizer has ${this.vocabSize} tokens but the model's vocab_size is ${modelVocabSize}: tokenizer.json does not belong to this model.`,
      );
    }
  }
}
