/**
 * `tabzero probe --model <dir> [--n N] [--seed S] [--backend B] [--task toy-world|countdown]
 *   [--difficulty D] [--mode greedy|avg@k] [--samples K (8)] [--temperature T (0.6)] [--pass-k K]
 *   [--max-new-tokens N] [--batch B]`
 *
 * Runs the SPARKLE-style probes (plain, +plan, +knowledge, subproblem chains) of a model in Hub
 * layout on the task's fixed held-out probe set and prints one JSON object: the ProbeReport,
 * a per-difficulty table, and the paper's figures for comparison.
 */
import { generate } from '../../core/model/generate';
import { loadModel } from '../../core/model/load';
import { makeCompleter, type CompleterTokenizer } from '../../core/probes/completer';
import { SPARKLE_AVG8, SPARKLE_CITATION, SPARKLE_EFFECTS, SPARKLE_SUBPROBLEMS } from '../../core/probes/paper';
import { AVG_K_SAMPLES, AVG_K_TEMPERATURE, runProbesDetailed, type CompleteFn } from '../../core/probes/run';
import { byDifficulty } from '../../core/probes/table';
import { createTask } from '../../core/tasks/index';
import type { BackendName, TaskSpec } from '../../worker/protocol';
import { initNodeBackend } from '../node-webgpu';

export class ProbeArgsError extends Error {
  override name = 'ProbeArgsError';
}

export interface ProbeArgs {
  model: string;
  n: number;
  seed: number;
  backend: BackendName;
  task: 'toy-world' | 'countdown';
  difficulty?: number;
  mode: 'greedy' | 'sampled';
  samples: number;
  temperature: number;
  passK?: number;
  maxNewTokens: number;
  batch: number;
}

export interface LoadedCompleter {
  complete: CompleteFn;
  /** Facts about the model and backend for the printout. */
  info: Record<string, unknown>;
  dispose(): void;
}

/** What the command needs from the outside world, so tests can run it with a fake model. */
export interface ProbeDeps {
  loadCompleter(args: ProbeArgs): Promise<LoadedCompleter>;
  print(text: string): void;
  printError(text: string): void;
}

const USAGE =
  'usage: tabzero probe --model <dir> [--n N] [--seed S] [--backend cpu|wasm|webgpu] [--task toy-world|countdown] [--difficulty 1-4] [--mode greedy|avg@k] [--samples K (8)] [--temperature T (0.6)] [--pass-k K] [--max-new-tokens N] [--batch B]';

function num(flag: string, v: string, { int = true, min = -Infinity, max = Infinity } = {}): number {
  const x = Number(v);
  if (!Number.isFinite(x) || (int && !Number.isInteger(x)) || x < min || x > max) {
    throw new ProbeArgsError(`${flag} expects ${int ? 'an integer' : 'a number'}${min > -Infinity ? ` >= ${min}` : ''}${max < Infinity ? ` <= ${max}` : ''}, got '${v}'.`);
  }
  return x;
}

export function parseProbeArgs(argv: string[]): ProbeArgs {
  const a: Partial<ProbeArgs> = {};
  const out: ProbeArgs = { model: '', n: 100, seed: 1234, backend: 'wasm', task: 'toy-world', mode: 'greedy', samples: AVG_K_SAMPLES, temperature: AVG_K_TEMPERATURE, maxNewTokens: 192, batch: 32 };
  for (let i = 0; i < argv.length; i++) {
    const flag = argv[i]!;
    const v = argv[i + 1];
    if (!flag.startsWith('--')) throw new ProbeArgsError(`unexpected argument '${flag}'. ${USAGE}`);
    if (v === undefined || v.startsWith('--')) throw new ProbeArgsError(`${flag} needs a value. ${USAGE}`);
    i++;
    switch (flag) {
      case '--model': a.model = v; break;
      case '--n': a.n = num(flag, v, { min: 1 }); break;
      case '--seed': a.seed = num(flag, v, { min: 0 }); break;
      case '--backend':
        if (v !== 'cpu' && v !== 'wasm' && v !== 'webgpu') throw new ProbeArgsError(`--backend must be cpu, wasm or webgpu, got '${v}'.`);
        a.backend = v;
        break;
      case '--task':
        if (v !== 'toy-world' && v !== 'countdown') throw new ProbeArgsError(`--task must be toy-world or countdown, got '${v}'.`);
        a.task = v;
        break;
      case '--difficulty': a.difficulty = num(flag, v, { min: 1, max: 4 }); break;
      case '--mode':
        // 'avg@k' is the paper's name for the sampled mode.
        if (v !== 'greedy' && v !== 'sampled' && v !== 'avg@k') throw new ProbeArgsError(`--mode must be greedy or avg@k (also called sampled), got '${v}'.`);
        a.mode = v === 'avg@k' ? 'sampled' : v;
        break;
      case '--samples': a.samples = num(flag, v, { min: 1 }); break;
      case '--temperature': a.temperature = num(flag, v, { int: false, min: 0 }); break;
      case '--pass-k': a.passK = num(flag, v, { min: 1 }); break;
      case '--max-new-tokens': a.maxNewTokens = num(flag, v, { min: 1 }); break;
      case '--batch': a.batch = num(flag, v, { min: 1 }); break;
      default: throw new ProbeArgsError(`unknown option ${flag}. ${USAGE}`);
    }
  }
  Object.assign(out, a);
  if (!out.model) throw new ProbeArgsError(`--model <dir> is required. ${USAGE}`);
  if (out.passK !== undefined && (out.mode !== 'sampled' || out.passK > out.samples)) {
    throw new ProbeArgsError('--pass-k needs --mode sampled and a value no larger than --samples.');
  }
  return out;
}

/** Loads a Hub-layout model directory with the engine's loader on a Node backend. */
async function loadLocalCompleter(args: ProbeArgs): Promise<LoadedCompleter> {
  const backend = await initNodeBackend(args.backend);
  const { model, tokenizer, generationConfig, label } = await loadModel({ kind: 'dir', path: args.model });
  // generation_config.json may name more end tokens than the tokenizer (chat models' end-of-turn).
  const genEos = generationConfig?.eos_token_id;
  const extra = Array.isArray(genEos) ? genEos.filter((x): x is number => typeof x === 'number') : typeof genEos === 'number' ? [genEos] : [];
  const eosTokenIds = [...new Set([...tokenizer.eosTokenIds, ...extra])];
  const tok: CompleterTokenizer = {
    encode: (text, o) => tokenizer.encode(text, o),
    decode: (ids, o) => tokenizer.decode(ids, o),
    eosTokenIds,
    padTokenId: tokenizer.padTokenId,
    hasChatTemplate: tokenizer.hasChatTemplate,
    formatPrompt: (u) => tokenizer.formatPrompt(u),
  };
  const complete = makeCompleter(model, tok, { generate, maxNewTokens: args.maxNewTokens, batchSize: args.batch });
  return {
    complete,
    info: { source: label, backend: backend.name, adapter: backend.adapter, fallbackReason: backend.fallbackReason, arch: model.config.arch, params: model.numParams, vocabSize: model.config.vocabSize },
    dispose: () => model.dispose(),
  };
}

export const NODE_DEPS: ProbeDeps = {
  loadCompleter: loadLocalCompleter,
  print: (t) => process.stdout.write(`${t}\n`),
  printError: (t) => process.stderr.write(`${t}\n`),
};

export async function run(argv: string[], deps: ProbeDeps = NODE_DEPS): Promise<number> {
  let args: ProbeArgs;
  try {
    args = parseProbeArgs(argv);
  } catch (e) {
    deps.printError(`tabzero probe: ${(e as Error).message}`);
    return 1;
  }
  let loaded: LoadedCompleter | null = null;
  try {
    const spec: TaskSpec = args.task === 'countdown' ? { kind: 'countdown' } : { kind: 'toy-world', ...(args.difficulty !== undefined ? { difficulty: args.difficulty } : {}) };
    const problems = createTask(spec).probeSet(args.seed, args.n);
    loaded = await deps.loadCompleter(args);
    const t0 = performance.now();
    const res = await runProbesDetailed(loaded.complete, problems, {
      mode: args.mode,
      samples: args.samples,
      temperature: args.temperature,
      seed: args.seed,
      ...(args.passK !== undefined ? { passK: args.passK } : {}),
    });
    const seconds = (performance.now() - t0) / 1000;
    deps.print(
      JSON.stringify(
        {
          model: args.model,
          ...loaded.info,
          task: spec,
          n: problems.length,
          seed: args.seed,
          mode: args.mode === 'sampled' ? `avg@${args.samples} (sampled at temperature ${args.temperature}, intervals over problems)` : 'greedy (one completion per prompt, Wilson intervals)',
          ...(args.mode === 'sampled' ? { samples: args.samples, temperature: args.temperature } : {}),
          report: res.report,
          byDifficulty: byDifficulty(res.rows),
          prompts: res.prompts,
          completions: res.completions,
          seconds: Math.round(seconds * 100) / 100,
          paper: { citation: SPARKLE_CITATION, metric: 'Avg@8 at temperature 0.6', effects: SPARKLE_EFFECTS, subproblems: SPARKLE_SUBPROBLEMS, avgAt8: SPARKLE_AVG8 },
        },
        null,
        2,
      ),
    );
    return 0;
  } catch (e) {
    deps.printError(`tabzero probe: ${(e as Error).name}: ${(e as Error).message}`);
    return 1;
  } finally {
    loaded?.dispose();
  }
}
