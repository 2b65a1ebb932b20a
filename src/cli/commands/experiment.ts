/**
 * `tabzero experiment <name> --out <dir> [--seeds N|a,b,c] [--steps N] [--stage2-steps N]
 *   [--probe-n N] [--samples K] [--backend cpu|wasm|webgpu] [--model <dir>] [--arms a,b] [--no-greedy] [--resume]`
 * `tabzero experiment list`
 *
 * Runs a named, seeded SPARKLE recipe end to end on a Hub-layout model (default: the shipped
 * one) and writes into <out>: result.json (every run's probe reports, rewritten after each arm,
 * so a stopped run keeps what finished), table.md and table.json (mean over seeds, 95% interval
 * over problems, spread over seeds) and plot.svg. --resume keeps the (arm, seed) runs a stopped
 * run with the same options left in <out>/result.json and runs only the rest.
 */
import { mkdirSync, readFileSync, existsSync, writeFileSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ArgsError, bool, num, oneOf, parseArgs, str } from '../args';
import { initNodeBackend } from '../node-webgpu';
import { PASSTHROUGH_FILES } from '../../core/model/load';
import { EXPERIMENT_NAMES, RECIPES, recipe } from '../../core/experiments/recipes';
import { runExperiment, type ExperimentResult } from '../../core/experiments/runner';
import { summarise, tableMarkdown } from '../../core/experiments/table';
import { experimentSvg } from '../../core/experiments/plot';

const USAGE = `usage: tabzero experiment <${EXPERIMENT_NAMES.join('|')}> --out <dir> [--seeds N|a,b,c] [--steps N] [--stage2-steps N] [--probe-n N] [--samples K] [--backend cpu|wasm|webgpu] [--model <dir>] [--arms a,b] [--no-greedy] [--resume]
       tabzero experiment list`;

export const DEFAULT_MODEL = 'public/models/tabzero-tiny';

function readModelDir(dir: string): Map<string, Uint8Array> {
  const files = new Map<string, Uint8Array>();
  for (const name of ['model.safetensors', ...PASSTHROUGH_FILES]) {
    const p = join(dir, name);
    if (existsSync(p)) files.set(name, new Uint8Array(readFileSync(p)));
  }
  if (!files.has('config.json') || !files.has('model.safetensors')) throw new ArgsError(`${dir} is not a model folder in Hub layout (config.json and model.safetensors are needed).`);
  return files;
}

function seedList(raw: string | number | boolean | undefined, fallback: number): number[] {
  if (raw === undefined) return Array.from({ length: fallback }, (_, i) => i + 1);
  const s = String(raw);
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    if (n < 1) throw new ArgsError('--seeds needs a count ≥ 1 or a list like 1,2,3.');
    return Array.from({ length: n }, (_, i) => i + 1);
  }
  if (!/^\d+(,\d+)+$/.test(s)) throw new ArgsError(`--seeds needs a count or a comma-separated list of seeds, got "${s}".`);
  return s.split(',').map(Number);
}

/** Write beside, then rename, so a reader never sees half a file. */
function writeAtomic(path: string, text: string): void {
  writeFileSync(`${path}.tmp`, text);
  renameSync(`${path}.tmp`, path);
}

export function writeOutputs(out: string, result: ExperimentResult, command: string): void {
  writeAtomic(join(out, 'result.json'), JSON.stringify(result, null, 1) + '\n');
  writeAtomic(join(out, 'table.md'), tableMarkdown(result, command));
  writeAtomic(join(out, 'table.json'), JSON.stringify({ command, ...summarise(result) }, null, 1) + '\n');
  writeAtomic(join(out, 'plot.svg'), experimentSvg(result));
}

export async function run(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.length === 0) {
    console.log(USAGE);
    return argv.length === 0 ? 1 : 0;
  }
  if (argv[0] === 'list') {
    for (const r of Object.values(RECIPES)) {
      console.log(`${r.name}: ${r.title}\n  ${r.question}\n  arms: ${r.arms.map((a) => a.id).join(', ')}\n  defaults: ${JSON.stringify(r.defaults)}\n  npx tabzero experiment ${r.name} --out runs/${r.name}\n`);
    }
    return 0;
  }
  const a = parseArgs(
    argv,
    { out: 'string', seeds: 'string', steps: 'int', 'stage2-steps': 'int', 'probe-n': 'int', samples: 'int', backend: 'string', model: 'string', arms: 'string', 'no-greedy': 'boolean', resume: 'boolean' },
    USAGE,
  );
  if (a.positional.length !== 1) throw new ArgsError(`Name one experiment.\n${USAGE}`);
  const rec = recipe(a.positional[0]!);
  const out = resolve(str(a, 'out'));
  const d = rec.defaults;
  const seeds = seedList(a.flags.get('seeds'), d.seeds);
  const steps = num(a, 'steps', d.steps);
  const stage2Steps = num(a, 'stage2-steps', d.stage2Steps);
  const probeN = num(a, 'probe-n', d.probeN);
  const samples = num(a, 'samples', 8);
  for (const [k, v] of [['steps', steps], ['probe-n', probeN], ['samples', samples]] as const) if (!(v >= 1)) throw new ArgsError(`--${k} must be ≥ 1, got ${v}.`);
  const backend = oneOf(a, 'backend', ['cpu', 'wasm', 'webgpu'] as const, 'wasm');
  const arms = a.flags.has('arms') ? str(a, 'arms').split(',') : undefined;
  const modelDir = resolve(str(a, 'model', DEFAULT_MODEL));
  const baseFiles = readModelDir(modelDir);
  const command = `npx tabzero experiment ${argv.filter((x) => x !== '--resume').join(' ')}`;
  const stored = join(out, 'result.json');
  const previous = bool(a, 'resume') && existsSync(stored) ? (JSON.parse(readFileSync(stored, 'utf8')) as ExperimentResult) : undefined;
  mkdirSync(out, { recursive: true });
  const report = await initNodeBackend(backend);
  const t0 = Date.now();
  const log = (m: string): void => {
    process.stderr.write(`[${((Date.now() - t0) / 1000).toFixed(0)}s] ${m}\n`);
  };
  log(`${rec.name}: seeds ${seeds.join(',')}, ${steps} steps${stage2Steps ? ` + ${stage2Steps} stage-2` : ''}, ${probeN} probe problems × Avg@${samples}, backend ${report.name}`);
  const result = await runExperiment(
    rec.name,
    { seeds, steps, stage2Steps, probeN, probeSamples: samples, greedy: !bool(a, 'no-greedy'), ...(arms ? { arms } : {}), ...(previous ? { previous } : {}) },
    { baseFiles, backend: report.name, log, onProgress: (r) => writeOutputs(out, r, command) },
  );
  process.stdout.write(tableMarkdown(result, command));
  log(`wrote ${join(out, 'table.md')}, table.json, result.json and plot.svg`);
  return 0;
}
