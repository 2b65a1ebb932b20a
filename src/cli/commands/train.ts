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
import { existsSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { ConfigError, validateConfig } from '../../core/grpo/config';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { ArgsError, num, oneOf, parseArgs, str } from '../args';
import { initNodeBackend } from '../node-webgpu';
import { modelSource } from './generate';
import { TrainingSession } from '../../worker/session';
import type { BackendName, TaskSpec, UserRewardSpec, WorkerEvent } from '../../worker/protocol';
import { dirStore, writeDurable } from '../checkpoint-dir';
import { CheckpointError, type CheckpointStore } from '../../worker/checkpoint-store';
import { appendRow, resetRows, truncateRows } from '../metrics-file';
import { checkOutDir, readInputFile } from '../files';
import { parseJsonl } from '../../core/tasks/jsonl';
import { BUILTIN_REWARDS } from '../../core/rewards/builtin';

const USAGE = 'usage: tabzero train --config <file.json> --out <dir> [--probe-every K] [--backend cpu|wasm|webgpu] [--max-steps N] [--checkpoint-every N] [--resume] [--probe-n N]';

export class TrainConfigError extends Error {
  override name = 'TrainConfigError';
}

const NON_GRPO_KEYS = ['model', 'task', 'rewards', 'user_rewards', 'backend', '$schema', 'comment'];

async function taskSpec(raw: unknown, base: string, configPath: string): Promise<TaskSpec> {
  if (raw === undefined || raw === 'toy-world') return { kind: 'toy-world' };
  if (raw === 'countdown') return { kind: 'countdown' };
  if (typeof raw === 'object' && raw !== null) {
    const t = raw as Record<string, unknown>;
    if (t.kind === 'toy-world') return typeof t.difficulty === 'number' ? { kind: 'toy-world', difficulty: t.difficulty } : { kind: 'toy-world' };
    if (t.kind === 'countdown') return { kind: 'countdown' };
    if (t.kind === 'jsonl' && typeof t.path === 'string') {
      const path = isAbsolute(t.path) ? t.path : join(base, t.path);
      const text = await readInputFile(path, `the task file ("task.path" in ${configPath})`);
      const name = basename(path).replace(/\.jsonl$/, '');
      // Checked here so a bad line is reported with its file before the model loads.
      try {
        parseJsonl(text, name);
      } catch (e) {
        throw new TrainConfigError(`${path}: ${(e as Error).message}`);
      }
      return { kind: 'jsonl', name, text };
    }
  }
  throw new TrainConfigError(`"task" must be "toy-world", "countdown", {"kind": "toy-world", "difficulty": N} or {"kind": "jsonl", "path": "<file>"}; got ${JSON.stringify(raw)}`);
}

function weightOf(r: Record<string, unknown>, where: string): number {
  if (r.weight === undefined) return 1;
  if (typeof r.weight !== 'number' || !Number.isFinite(r.weight)) throw new TrainConfigError(`${where}.weight must be a finite number, got ${JSON.stringify(r.weight)}`);
  return r.weight;
}

async function userRewards(raw: unknown, base: string): Promise<UserRewardSpec[]> {
  if (raw === undefined) return [];
  if (!Array.isArray(raw)) throw new TrainConfigError('"user_rewards" must be a list of {name, file | source, weight}');
  return Promise.all(
    raw.map(async (entry: unknown, i) => {
      if (typeof entry !== 'object' || entry === null) throw new TrainConfigError(`user_rewards[${i}] must be an object {name, file | source, weight}`);
      const r = entry as Record<string, unknown>;
      if (typeof r.name !== 'string' || r.name.trim() === '') throw new TrainConfigError(`user_rewards[${i}] needs a "name"`);
      const weight = weightOf(r, `user_rewards[${i}]`);
      if (typeof r.source === 'string') return { name: r.name, source: r.source, weight };
      if (typeof r.file === 'string') {
        const path = isAbsolute(r.file) ? r.file : join(base, r.file);
        return { name: r.name, source: await readInputFile(path, `user_rewards[${i}].file ("${r.name}")`), weight };
      }
      throw new TrainConfigError(`user_rewards[${i}] ("${r.name}") needs "file" or "source"`);
    }),
  );
}

function builtinRewards(raw: unknown): { name: string; weight: number }[] | undefined {
  if (raw === undefined) return undefined;
  if (!Array.isArray(raw)) throw new TrainConfigError('"rewards" must be a list of {name, weight}');
  return raw.map((entry: unknown, i) => {
    const r = (typeof entry === 'object' && entry !== null ? entry : {}) as Record<string, unknown>;
    if (typeof r.name !== 'string' || !(r.name in BUILTIN_REWARDS)) {
      throw new TrainConfigError(`rewards[${i}].name must be one of ${Object.keys(BUILTIN_REWARDS).join(', ')}; got ${JSON.stringify(r.name)}`);
    }
    return { name: r.name, weight: weightOf(r, `rewards[${i}]`) };
  });
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help')) {
    console.log(USAGE);
    return 0;
  }
  const a = parseArgs(
    argv,
    {
      config: 'string',
      out: 'string',
      'probe-every': { type: 'int', min: 0 },
      backend: 'string',
      'max-steps': { type: 'int', min: 1 },
      'checkpoint-every': { type: 'int', min: 0 },
      resume: 'boolean',
      'probe-n': { type: 'int', min: 1 },
    },
    USAGE,
  );
  if (a.positional.length > 0) throw new ArgsError(`unexpected argument "${a.positional[0]}"; every option is --name value.\n${USAGE}`);
  const configPath = resolve(str(a, 'config'));
  const out = resolve(str(a, 'out'));
  const backend = oneOf(a, 'backend', ['cpu', 'wasm', 'webgpu'] as const, 'wasm');
  let raw: Record<string, unknown>;
  const configText = await readInputFile(configPath, '--config');
  try {
    raw = JSON.parse(configText) as Record<string, unknown>;
  } catch (e) {
    throw new TrainConfigError(`${configPath} is not valid JSON (${(e as Error).message})`);
  }
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new TrainConfigError(`${configPath} must hold a JSON object of settings`);
  const base = dirname(configPath);
  if (typeof raw.model !== 'string') throw new TrainConfigError(`${configPath} needs "model": a Hub-layout model directory`);
  const modelSpec = raw.model.startsWith('hub:') || /^https?:/.test(raw.model) || isAbsolute(raw.model) ? raw.model : join(base, raw.model);
  const grpo: Record<string, number | string | boolean | number[] | null> = {};
  for (const [k, v] of Object.entries(raw)) if (!NON_GRPO_KEYS.includes(k)) grpo[k] = v as number;
  const maxSteps = a.flags.get('max-steps');
  if (typeof maxSteps === 'number') grpo.max_steps = maxSteps;
  const backendName = a.flags.has('backend') ? backend : oneOf({ flags: new Map(raw.backend === undefined ? [] : [['backend', raw.backend as string]]), positional: [] }, 'backend', ['cpu', 'wasm', 'webgpu'] as const, 'wasm');
  const builtins = builtinRewards(raw.rewards);
  const task = await taskSpec(raw.task, base, configPath);
  const user = await userRewards(raw.user_rewards, base);

  // Refused here, before --out is touched, rather than after the model has loaded.
  try {
    validateConfig(grpo);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    console.error(`error (config): ${e.message}`);
    return 1;
  }
  const created = !existsSync(out);
  checkOutDir(out);
  const metricsPath = join(out, 'metrics.jsonl');
  const probesPath = join(out, 'probes.jsonl');
  const resume = a.flags.get('resume') === true;
  // A new run empties the files at its first row (a run that fails before training leaves them as
  // they were); a resumed run keeps the rows up to its checkpoint (see the 'resumed' event).
  let filesStarted = resume;
  let finished: (e: WorkerEvent | null) => void = () => undefined;
  const done = new Promise<WorkerEvent | null>((r) => (finished = r));
  let exported: Extract<WorkerEvent, { type: 'exported' }> | null = null;
  const t0 = Date.now();
  let writeFailed = false;
  /** A row that cannot be written (full disk) stops the run: the metrics would no longer say what happened. */
  const write = (path: string, row: unknown): void => {
    if (writeFailed) return;
    try {
      if (!filesStarted) {
        resetRows(metricsPath);
        if (existsSync(probesPath)) resetRows(probesPath);
        filesStarted = true;
      }
      appendRow(path, row);
    } catch (err) {
      writeFailed = true;
      const code = (err as NodeJS.ErrnoException).code;
      finished({ type: 'error', code: 'write', message: `${path} could not be written (${code === 'ENOSPC' ? 'the disk is full' : (err as Error).message}); the run stopped. Free space, then continue with --resume.` });
    }
  };
  // A checkpoint must never be ahead of metrics.jsonl: once a row could not be written, no save.
  const store = dirStore(join(out, 'checkpoint'));
  const guarded: CheckpointStore = {
    ...store,
    save: (files) => (writeFailed ? Promise.reject(new CheckpointError('not saved: metrics.jsonl could not be written for this step')) : store.save(files)),
  };
  const session = new TrainingSession(
    (e) => {
      switch (e.type) {
        case 'resumed':
          // Steps after the checkpoint are trained again: their rows (and a torn last row) go.
          truncateRows(metricsPath, e.step);
          truncateRows(probesPath, e.step);
          break;
        case 'metrics':
          write(metricsPath, { step: e.step, ...e.metrics });
          console.error(
            `step ${e.step}  reward ${e.metrics.reward?.toFixed(3)}  loss ${e.metrics.policy_loss?.toFixed(4) ?? '-'}  ` +
              `rollout ${e.metrics.rollout_time_s?.toFixed(1)}s  update ${e.metrics.update_time_s?.toFixed(1)}s  (${((Date.now() - t0) / 1000).toFixed(0)}s)`,
          );
          break;
        case 'probes':
          // In both files: metrics.jsonl holds the whole run in step order (a probe row has
          // `probes` instead of step metrics), probes.jsonl just the trajectory for plotting.
          write(metricsPath, { step: e.report.step, probes: e.report });
          write(probesPath, e.report);
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
    { initBackend: (p?: BackendName) => initNodeBackend(p ?? backendName), embedded: modelSource(modelSpec), checkpoints: guarded },
    { checkpointEvery: num(a, 'checkpoint-every', 10), probeCount: num(a, 'probe-n', 24) },
  );
  try {
    await session.handle({ type: 'load', source: { kind: 'embedded' }, backend: backendName });
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
      // A run that failed before writing anything leaves no empty --out behind.
      if (created && readdirSync(out).length === 0) rmSync(out, { recursive: true, force: true });
      return 1;
    }
    await session.handle({ type: 'export' });
    if (!exported) throw new Error('the session did not export the model');
    // Each file replaces its old version in one rename: an interrupted export leaves whole files.
    for (const f of (exported as Extract<WorkerEvent, { type: 'exported' }>).files) {
      const tmp = join(out, `.${f.name}.tmp`);
      writeDurable(tmp, new Uint8Array(f.data), f.name);
      renameSync(tmp, join(out, f.name));
    }
    console.error(`wrote ${metricsPath} and the trained model to ${out}`);
    return 0;
  } finally {
    await session.dispose();
  }
}
