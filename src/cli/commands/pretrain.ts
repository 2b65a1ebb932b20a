/**
 * `tabzero pretrain --out <dir> [--overwrite] [--seed S] [--minutes M] [--steps N] [--batch B] [--backend B]`
 *
 * Makes the embedded default model from nothing: trains a BPE tokenizer on toy-world text, then a
 * Llama-shaped model of ~1M parameters by next-token prediction on toy-world traces, with the
 * same engine the app trains with. Writes the model in Hub layout to --out every --save-every
 * steps (so a stopped run keeps its progress) and a PRETRAIN.json record of how it was made.
 * --out is required, and a directory that already holds a model is only replaced with
 * --overwrite: the shipped model lives in public/models/tabzero-tiny and must not be lost by accident.
 */
import { existsSync, writeFileSync, appendFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { checkOutDir } from '../files';
import * as tf from '@tensorflow/tfjs-core';
import { PreTrainedTokenizer } from '@huggingface/transformers';
import { Rng } from '../../core/rng';
import { parseConfig } from '../../core/model/config';
import { randomInit } from '../../core/model/causal-lm';
import { trainBpe } from '../../core/pretrain/bpe';
import { DEFAULT_CORPUS, sampleExample, tokenizerCorpus } from '../../core/pretrain/corpus';
import { lmStep } from '../../core/pretrain/lm-step';
import { generationConfigJson, hubFiles, tinyConfigJson, TINY_SHAPE } from '../../core/pretrain/model-files';
import { initNodeBackend } from '../node-webgpu';
import type { BackendName } from '../../worker/protocol';

const ADDED = ['<|endoftext|>', '<think>', '</think>', '<answer>', '</answer>'];

export class PretrainArgsError extends Error {
  override name = 'PretrainArgsError';
}

const USAGE = 'usage: tabzero pretrain --out <dir> [--overwrite] [--seed S] [--steps N] [--minutes M] [--batch B] [--lr LR] [--vocab V] [--save-every N] [--backend wasm|cpu|webgpu]';

interface PretrainArgs {
  out: string;
  seed: number;
  minutes: number;
  steps: number;
  batch: number;
  lr: number;
  vocab: number;
  saveEvery: number;
  backend: BackendName;
  overwrite: boolean;
}

/** Numeric flags: integer or not, and the smallest value allowed. */
const NUMERIC: Record<string, { key: keyof PretrainArgs; int: boolean; min: number; minExclusive?: boolean }> = {
  '--seed': { key: 'seed', int: true, min: 0 },
  '--minutes': { key: 'minutes', int: false, min: 0, minExclusive: true },
  '--steps': { key: 'steps', int: true, min: 1 },
  '--batch': { key: 'batch', int: true, min: 1 },
  '--lr': { key: 'lr', int: false, min: 0, minExclusive: true },
  '--vocab': { key: 'vocab', int: true, min: 16 },
  '--save-every': { key: 'saveEvery', int: true, min: 1 },
};

function parse(argv: string[]): PretrainArgs {
  const a: PretrainArgs = { out: '', seed: 1234, minutes: 45, steps: 1326, batch: 16, lr: 2e-3, vocab: 384, saveEvery: 100, backend: 'wasm', overwrite: false };
  if (argv.includes('--help')) throw new PretrainArgsError(USAGE);
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    if (k === '--overwrite') {
      a.overwrite = true;
      continue;
    }
    if (!k.startsWith('--')) throw new PretrainArgsError(`unexpected argument '${k}'. ${USAGE}`);
    const v = argv[i + 1];
    if (v === undefined) throw new PretrainArgsError(`${k} needs a value. ${USAGE}`);
    if (/^--[a-z]/i.test(v)) throw new PretrainArgsError(`${k} needs a value, but the next argument is the option ${v}. ${USAGE}`);
    i++;
    const n = NUMERIC[k];
    if (n) {
      const x = v.trim() === '' ? NaN : Number(v);
      const low = n.minExclusive ? x <= n.min : x < n.min;
      if (!Number.isFinite(x) || (n.int && !Number.isInteger(x)) || low) {
        throw new PretrainArgsError(`${k} must be ${n.int ? 'an integer' : 'a number'} ${n.minExclusive ? '>' : '≥'} ${n.min}, got '${v}'.`);
      }
      (a as unknown as Record<string, number>)[n.key] = x;
      continue;
    }
    switch (k) {
      case '--out': a.out = v; break;
      case '--backend':
        if (v !== 'wasm' && v !== 'cpu' && v !== 'webgpu') throw new PretrainArgsError(`--backend must be wasm, cpu or webgpu, got '${v}'.`);
        a.backend = v;
        break;
      default: throw new PretrainArgsError(`unknown option ${k}. ${USAGE}`);
    }
  }
  if (!a.out) {
    throw new PretrainArgsError(`--out <dir> is required: the directory the new model is written to (the shipped model is public/models/tabzero-tiny; replacing it takes --out public/models/tabzero-tiny --overwrite). ${USAGE}`);
  }
  const out = resolve(a.out);
  if (!a.overwrite && ['model.safetensors', 'config.json'].some((f) => existsSync(join(out, f)))) {
    throw new PretrainArgsError(`${a.out} already holds a model (config.json / model.safetensors); add --overwrite to replace it, or choose another --out.`);
  }
  return a;
}

/**
 * Linear warmup then cosine decay to 10% of the peak over --steps. The schedule depends on the
 * step alone, so a run is reproducible from its seed and step count; --minutes only stops it early.
 */
function lrAt(peak: number, progress: number, step: number, warmup: number): number {
  if (step < warmup) return (peak * (step + 1)) / warmup;
  return peak * (0.1 + 0.9 * 0.5 * (1 + Math.cos(Math.PI * Math.min(1, progress))));
}

export async function run(argv: string[]): Promise<number> {
  const args = parse(argv);
  checkOutDir(resolve(args.out));
  const backend = await initNodeBackend(args.backend);
  console.error(`pretrain: backend ${backend.name}${backend.fallbackReason ? ` (${backend.fallbackReason})` : ''}`);
  tf.setBackend(backend.name);
  await tf.ready();

  const bpe = trainBpe(tokenizerCorpus(args.seed, 4000), { vocabSize: args.vocab, addedTokens: ADDED.map((content, i) => ({ content, special: i === 0 })), unkToken: '<unk>' });
  const tokenizer = new PreTrainedTokenizer(bpe.tokenizerJson, bpe.tokenizerConfig);
  const eos = tokenizer.eos_token_id as number;
  const configJson = tinyConfigJson(bpe.vocabSize, eos, TINY_SHAPE);
  const model = randomInit(parseConfig(configJson), args.seed);
  console.error(`pretrain: vocab ${bpe.vocabSize}, ${model.numParams} parameters`);

  const optimizer = tf.train.adam(args.lr, 0.9, 0.95, 1e-8);
  const rng = new Rng(args.seed + 1);
  const started = Date.now();
  const budgetMs = args.minutes * 60_000;
  const logPath = join(args.out, 'pretrain-log.jsonl');
  writeFileSync(logPath, '');
  let tokensSeen = 0;
  let emaLoss = NaN;
  let step = 0;
  const save = async (final: boolean): Promise<void> => {
    const files = await hubFiles(model, configJson, bpe.tokenizerJson, bpe.tokenizerConfig, generationConfigJson(eos, 160));
    // Each file is replaced in one rename, so a stopped run never leaves a torn model.
    for (const [name, data] of files) {
      const tmp = join(args.out, `.${name}.tmp`);
      writeFileSync(tmp, data);
      renameSync(tmp, join(args.out, name));
    }
    const record = {
      command: `npx tabzero pretrain ${argv.join(' ')}`,
      seed: args.seed,
      backend: backend.name,
      steps: step,
      batch: args.batch,
      peak_learning_rate: args.lr,
      tokens_seen: tokensSeen,
      final_loss_ema: emaLoss,
      minutes: (Date.now() - started) / 60_000,
      finished: final,
      corpus: DEFAULT_CORPUS,
      shape: TINY_SHAPE,
      parameters: model.numParams,
      machine: '2-core x86_64, no GPU',
    };
    writeFileSync(join(args.out, 'PRETRAIN.json'), JSON.stringify(record, null, 2) + '\n');
  };

  // Batches of similar length: attention cost grows with the square of the padded length.
  let queue: { prompt: number[]; target: number[] }[][] = [];
  const refill = (): void => {
    const pool = Array.from({ length: args.batch * 8 }, () => {
      const ex = sampleExample(rng);
      return { prompt: tokenizer.encode(ex.prompt, { add_special_tokens: false }) as number[], target: [...(tokenizer.encode(ex.target, { add_special_tokens: false }) as number[]), eos] };
    }).sort((a, b) => a.prompt.length + a.target.length - (b.prompt.length + b.target.length));
    for (let i = 0; i < pool.length; i += args.batch) queue.push(pool.slice(i, i + args.batch));
    queue = rng.shuffle(queue);
  };
  for (; step < args.steps && Date.now() - started < budgetMs; step++) {
    if (queue.length === 0) refill();
    const group = queue.pop()!;
    const prompts = group.map((e) => e.prompt);
    const targets = group.map((e) => e.target);
    const progress = step / args.steps;
    (optimizer as unknown as { learningRate: number }).learningRate = lrAt(args.lr, progress, step, 50);
    const r = await lmStep(model, optimizer, prompts, targets, eos, 1.0);
    tokensSeen += r.tokens;
    emaLoss = Number.isNaN(emaLoss) ? r.loss : 0.95 * emaLoss + 0.05 * r.loss;
    if (step % 10 === 0) {
      const line = { step, loss: r.loss, loss_ema: emaLoss, grad_norm: r.gradNorm, tokens: tokensSeen, seconds: (Date.now() - started) / 1000 };
      appendFileSync(logPath, JSON.stringify(line) + '\n');
      console.error(`step ${step} loss ${r.loss.toFixed(4)} ema ${emaLoss.toFixed(4)} |g| ${r.gradNorm.toFixed(3)} ${line.seconds.toFixed(0)}s`);
    }
    if (step > 0 && step % args.saveEvery === 0) await save(false);
  }
  await save(true);
  console.error(`pretrain: done, ${step} steps, loss ema ${emaLoss.toFixed(4)}, ${((Date.now() - started) / 60000).toFixed(1)} min`);
  model.dispose();
  return 0;
}
