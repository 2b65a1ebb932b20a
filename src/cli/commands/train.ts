/**
 * `tabzero train --config <file.json> --out <dir> [--probe-every K] [--probe-n N] [--backend cpu|wasm|webgpu] [--max-steps N]
 *   [--checkpoint-every N] [--resume]`
 *
 * Runs GRPO headless through the same TrainingSession the browser worker uses. The config file
 * holds GRPO keys under TRL's names plus:
 *   model          a Hub-layout directory (or hub:owner/name, or a URL)
 *   task           "toy-world" | "countdown" | {"kind": "toy-world", "difficulty": 2} | {"kind": "jsonl", "path": "data.jsonl"}
 *   rewards        built-in rewards, [{"name": "correctness", "weight": 1}, ...] (default correctness + 0.2·format)
 *   user_rewards   [{"name": "short", "file": "short.js" | "source": "(c, p) => ...", "weight": 1}]
 *   backend        as --backend
 * Writes <out>/metrics.jsonl (one JSON object per step), <out>/probes.jsonl when probing, and the
 * trained model in Hub layout (config.json, model.safetensors, tokenizer files) that
 * `tabzero generate --model <out>` loads. <out>/checkpoint/ holds the resumable state (weights,
 * AdamW moments, step), saved every --checkpoint-every steps (default 10); --resume continues it.
 */
import { appendFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ArgsError, num, oneOf, parseArgs, str } from '../args';
import { initNodeBackend } from '../node-webgpu';
import { modelSource } from './generate';
import { TrainingSession } from '../../worker/session';
import type { BackendName, TaskSpec, UserRewardSpec, WorkerEvent } from '../../worker/protocol';
import { COMPLETE, inWriteOrder, type CheckpointStore } from '../../worker/checkpoint-store';

/** The resumable checkpoint as files in a directory; session.json last marks it complete. */
function dirStore(dir: string): CheckpointStore {
  return {
    async save(files) {
      rmSync(dir, { recursive: true, force: true });
      mkdirSync(dir, { recursive: true });
      for (const [name, data] of inWriteOrder(files)) writeFileSync(join(dir, name), data);
      return dir;
    },
    async load() {
      if (!existsSync(join(dir, COMPLETE))) return null;
      return new Map(readdirSync(dir).map((n) => [n, new Uint8Array(readFileSync(join(dir, n)))] as const));
    },
    async peek(name) {
      return existsSync(join(dir, name)) ? new Uint8Array(readFileSync(join(dir, name))) : null;
    },
    async clear() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const USAGE = 'usage: tabzero train --config <file.json> --out <dir> [--probe-every K] [--backend cpu|wasm|webgpu] [--max-steps N] [--checkpoint-every N] [--resume] [--probe-n N]';

export class TrainConfigError extends Error {
  override name = 'TrainConfigError';
}

const NON_GRPO_KEYS = ['model', 'task', 'rewards', 'user_rewards', 'backend', '$schema', 'comment'];

async function taskSpec(raw: unknown, base: string): Promise<TaskSpec> {
  if (raw === undefined || raw === 'toy-world') return { kind: 'toy-world' };
  if (raw === 'countdown') return { kind: 'countdown' };
  if (typeof raw === 'object' && raw !== null) {
    const t = raw as Record<string, unknown>;
    if (t.kind === 'toy-world') return typeof t.difficulty === 'number' ? { kind: 'toy-world', difficulty: t.difficulty } : { kind: 'toy-world' };
    if (t.kind === 'countdown') return { kind: 'countdown' };
    if (t.kind === 'jsonl' && typeof t.path === 'string') {
      const path = isAbsolute(t.path) ? t.path : join(base, t.path);
      return { kind: 'jsonl', name: basename(path).replace(/\.jsonl$/, ''), text: await readFile(path, 'utf8') };
    }
  }
  throw new TrainConfigError(`"task" must be "toy-world", "countdown", {"kind": "toy-world", "difficulty": N} or {"kind": "jsonl", "path": "<file>"}; got ${JSON.stringify(raw)}`);
}

async function userRewards(raw: unknown, base: string): Promise<UserRewardSpec[]> {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new TrainConfigError('"user_rewards" must be a list of {name, file | source, weight}');
  return Promise.all(
    raw.map(async (r: Record<string, unknown>, i) => {
      if (typeof r.name !== 'string') throw new TrainConfigError(`user_rewards[${i}] needs a "name"`);
      const weight = typeof r.weight === 'number' ? r.weight : 1;
      if (typeof r.source === 'string') return { name: r.name, source: r.source, weight };
      if (typeof r.file === 'string') return { name: r.name, source: await readFile(isAbsolute(r.file) ? r.file : join(base, r.file), 'utf8'), weight };
      throw new TrainConfigError(`user_rewards[${i}] ("${r.name}") needs "file" or "source"`);
    }),
  );
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const a = parseArgs(argv, { config: 'string', out: 'string', 'probe-every': 'int', backend: 'string', 'max-steps': 'int', 'checkpoint-every': 'int', resume: 'boolean', 'probe-n': 'int' }, USAGE);
  const configPath = resolve(str(a, 'config'));
  const out = resolve(str(a, 'out'));
  let raw: Record<string, unknown>;
  try {
    raw = JSON.parse(await readFile(configPath, 'utf8')) as Record<string, unknown>;
  } catch (e) {
    throw new TrainConfigError(`cannot read ${configPath}: ${(e as Error).message}`);
  }
  const base = dirname(configPath);
  if (typeof raw.model !== 'string') throw new TrainConfigError(`${configPath} needs "model": a Hub-layout model directory`);
  const modelSpec = raw.model.startsWith('hub:') || /^https?:/.test(raw.model) || isAbsolute(raw.model) ? raw.model : join(base, raw.model);
  const grpo: Record<string, number | string | boolean | number[] | null> = {};
  for (const [k, v] of Object.entries(raw)) if (!NON_GRPO_KEYS.includes(k)) grpo[k] = v as number;
  const maxSteps = a.flags.get('max-steps');
  if (typeof maxSteps === 'number') grpo.max_steps = maxSteps;
  const backendFlag = a.flags.get('backend') ?? raw.backend;
  const backend = oneOf({ flags: new Map(backendFlag === undefined ? [] : [['backend', backendFlag as string]]), positional: [] }, 'backend', ['cpu', 'wasm', 'webgpu'] as const, 'wasm');
  const builtins = raw.rewards === undefined ? undefined : (raw.rewards as { name: string; weight: number }[]);
  if (builtins !== undefined && !Array.isArray(builtins)) throw new ArgsError('"rewards" must be a list of {name, weight}');
  const task = await taskSpec(raw.task, base);
  const user = await userRewards(raw.user_rewards, base);

  mkdirSync(out, { recursive: true });
  const metricsPath = join(out, 'metrics.jsonl');
  const probesPath = join(out, 'probes.jsonl');
  const resume = a.flags.get('resume') === true;
  // A resumed run appends to the metrics it already wrote.
  if (!resume || !existsSync(metricsPath)) writeFileSync(metricsPath, '');
  let finished: (e: WorkerEvent | null) => void = () => undefined;
  const done = new Promise<WorkerEvent | null>((r) => (finished = r));
  let exported: Extract<WorkerEvent, { type: 'exported' }> | null = null;
  const t0 = Date.now();
  const session = new TrainingSession(
    (e) => {
      switch (e.type) {
        case 'metrics':
          appendFileSync(metricsPath, JSON.stringify({ step: e.step, ...e.metrics }) + '\n');
          console.error(
            `step ${e.step}  reward ${e.metrics.reward?.toFixed(3)}  loss ${e.metrics.policy_loss?.toFixed(4) ?? '-'}  ` +
              `rollout ${e.metrics.rollout_time_s?.toFixed(1)}s  update ${e.metrics.update_time_s?.toFixed(1)}s  (${((Date.now() - t0) / 1000).toFixed(0)}s)`,
          );
          break;
        case 'probes':
          // In both files: metrics.jsonl holds the whole run in step order (a probe row has
          // `probes` instead of step metrics), probes.jsonl just the trajectory for plotting.
          appendFileSync(metricsPath, JSON.stringify({ step: e.report.step, probes: e.report }) + '\n');
          appendFileSync(probesPath, JSON.stringify(e.report) + '\n');
          console.error(`probes at step ${e.report.step}: plain ${e.report.plain.acc.toFixed(3)}, plan effect ${e.report.planEffect.toFixed(3)}, knowledge effect ${e.report.knowledgeEffect.toFixed(3)}`);
          break;
        case 'log':
          console.error(`${e.level}: ${e.message}`);
          break;
        case 'error':
          finished(e);
          break;
        case 'exported':
          exported = e;
          break;
        case 'state':
          if (e.state === 'ready' && e.stop === 'max_steps') finished(null);
          break;
        default:
          break;
      }
    },
    { initBackend: (p?: BackendName) => initNodeBackend(p ?? backend), embedded: modelSource(modelSpec), checkpoints: dirStore(join(out, 'checkpoint')) },
    { checkpointEvery: num(a, 'checkpoint-every', 10), probeCount: num(a, 'probe-n', 24) },
  );
  try {
    await session.handle({ type: 'load', source: { kind: 'embedded' }, backend });
    await session.handle({
      type: 'start',
      config: grpo,
      task,
      rewards: user,
      ...(builtins ? { builtinRewards: builtins } : {}),
      probeEvery: num(a, 'probe-every', 0),
      resume,
    });
    const failure = await done;
    if (failure && failure.type === 'error') {
      const where = failure.reward ? ` [reward ${failure.reward.name}${failure.reward.line ? ` line ${failure.reward.line}` : ''}]` : '';
      console.error(`error (${failure.code})${where}: ${failure.message}`);
      await session.handle({ type: 'stop' });
      return 1;
    }
    await session.handle({ type: 'export' });
    if (!exported) throw new Error('the session did not export the model');
    for (const f of (exported as Extract<WorkerEvent, { type: 'exported' }>).files) writeFileSync(join(out, f.name), new Uint8Array(f.data));
    console.error(`wrote ${metricsPath} and the trained model to ${out}`);
    return 0;
  } finally {
    await session.dispose();
  }
}
