/**
 * TabZero on wasm beside bench/torch_ref.py on the same CPU, in one run: the ratio table of
 * bench/train-step.ts's default mode. See that file's header for the command.
 */
import * as tf from '@tensorflow/tfjs-core';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir, loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { initNodeBackend } from '../src/cli/node-webgpu';
import type { CausalLM } from '../src/core/model/causal-lm';
import { setWasmGemmEnabled } from '../src/core/kernels/wasm-gemm';
import { loadShipped, measureTabZero, randomModel, RL_SHAPE, SMOLLM_SHAPE_CONFIG, type Shape, type TabZeroFigures } from './rl-shape';

const SHIPPED = resolve('public/models/tabzero-tiny');

/** A python3 that imports torch: PATH's first, then Debian's own (python3-torch installs there). */
function findTorchPython(): string | null {
  for (const py of ['python3', '/usr/bin/python3']) {
    const r = spawnSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
    if (r.status === 0) return py;
  }
  return null;
}

function runTorch(py: string, args: string[]): Record<string, number | string> {
  const env = { ...process.env, OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1', MKL_NUM_THREADS: '1' };
  const r = spawnSync(py, [resolve('bench/torch_ref.py'), ...args], { env, encoding: 'utf8', maxBuffer: 1 << 26 });
  if (r.status !== 0) return { error: (r.stderr || r.stdout || `exit ${r.status}`).trim().split('\n').slice(-3).join(' ') };
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as Record<string, number | string>;
}

/** TabZero's logits on a fixed 2 × 16 input, for torch_ref.py's --check-logits. */
async function logitsFile(model: CausalLM, dir: string): Promise<string> {
  const B = 2;
  const L = 16;
  const V = model.config.vocabSize;
  const ids = Int32Array.from({ length: B * L }, (_, i) => 3 + ((i * 37) % (V - 3)));
  const positions = Int32Array.from({ length: B * L }, (_, i) => i % L);
  const { logits } = model.forward({ ids, batch: B, length: L, positions, attentionMask: new Int32Array(B * L).fill(1) });
  const data = Array.from(await logits.data());
  logits.dispose();
  const path = join(dir, 'logits.json');
  writeFileSync(path, JSON.stringify({ ids: Array.from(ids), batch: B, length: L, logits: data }));
  return path;
}

function shapeArgs(s: Shape): string[] {
  return ['--prompts', `${s.prompts}`, '--generations', `${s.generations}`, '--prompt-len', `${s.promptLen}`, '--new-tokens', `${s.newTokens}`, '--micro-batch', `${s.microBatch}`];
}

const fmt = (x: number, d = 2) => (Number.isFinite(x) ? x.toFixed(d) : '—');
const gb = (x: number) => (Number.isFinite(x) ? `${(x / 1e9).toFixed(3)} GB` : '—');

function table(title: string, tz: TabZeroFigures | null, pt: Record<string, number | string> | null, xnn?: TabZeroFigures): void {
  const num = (k: string) => (pt && typeof pt[k] === 'number' ? (pt[k] as number) : NaN);
  const rows: [string, string, string, string][] = [
    ['update (log-probs, loss, backward, AdamW)', `${fmt(tz?.update_s ?? NaN)} s`, `${fmt(num('update_s'))} s`, fmt((tz?.update_s ?? NaN) / num('update_s'))],
    ['rollout with KV cache', `${fmt(tz?.rollout_s ?? NaN)} s`, `${fmt(num('rollout_s'))} s`, fmt((tz?.rollout_s ?? NaN) / num('rollout_s'))],
    ['512² matmul as TabZero runs it (GFLOP/s; ratio = PyTorch / TabZero)', fmt(tz?.matmul512_gflops ?? NaN, 1), fmt(num('matmul512_gflops'), 1), fmt(num('matmul512_gflops') / (tz?.matmul512_gflops ?? NaN))],
    ['512² tf.matMul (XNNPACK on wasm)', fmt(tz?.tf_matmul512_gflops ?? NaN, 1), fmt(num('matmul512_gflops'), 1), fmt(num('matmul512_gflops') / (tz?.tf_matmul512_gflops ?? NaN))],
    ['update memory: TabZero peak wasm heap bytes above weights+moments / PyTorch saved for backward per micro-batch', gb(tz?.update_peak_bytes ?? NaN), gb(num('saved_for_backward_bytes')), fmt((tz?.update_peak_bytes ?? NaN) / num('saved_for_backward_bytes'))],
  ];
  if (xnn) {
    rows.push(
      ['update, products on XNNPACK (the kernel turned off; threaded wasm runs these)', `${fmt(xnn.update_s)} s`, `${fmt(num('update_s'))} s`, fmt(xnn.update_s / num('update_s'))],
      ['rollout, products on XNNPACK', `${fmt(xnn.rollout_s)} s`, `${fmt(num('rollout_s'))} s`, fmt(xnn.rollout_s / num('rollout_s'))],
    );
  }
  if (tz && Number.isFinite(tz.update_recompute_s)) {
    rows.push(
      ['update, layers recomputed in the backward pass (recomputeLayers)', `${fmt(tz.update_recompute_s)} s`, `${fmt(num('update_s'))} s`, fmt(tz.update_recompute_s / num('update_s'))],
      ['update memory, layers recomputed', gb(tz.update_recompute_peak_bytes), gb(num('saved_for_backward_bytes')), fmt(tz.update_recompute_peak_bytes / num('saved_for_backward_bytes'))],
    );
  }
  console.log(`\n### ${title}\n`);
  console.log('| | TabZero wasm | PyTorch CPU, 1 thread | ratio |\n|---|---|---|---|');
  for (const r of rows) console.log(`| ${r.join(' | ')} |`);
}

/** --compare shipped|smollm (default both), --no-torch: run TabZero only. */
export async function compareWithTorch(argv: string[] = process.argv): Promise<void> {
  const report = await initNodeBackend('wasm');
  if (report.name !== 'wasm') throw new Error(`wasm did not initialise: ${report.fallbackReason}`);
  const si = argv.indexOf('--smol-shape');
  if (si >= 0) return smolAttempt(JSON.parse(argv[si + 1]!) as Shape);
  const i = argv.indexOf('--compare');
  const which = i >= 0 ? argv[i + 1]!.split(',') : ['shipped', 'smollm'];
  const py = argv.includes('--no-torch') ? null : findTorchPython();
  const dir = mkdtempSync(join(tmpdir(), 'tabzero-vs-torch-'));
  const why = argv.includes('--no-torch') ? 'skipped (--no-torch)' : 'no python3 imports torch (apt-get install python3-torch libopenblas0-openmp): TabZero only';
  console.log(`load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}; PyTorch: ${py ?? why}`);

  if (which.includes('shipped')) await compareShipped(py, dir);
  if (which.includes('smollm')) await compareSmol(py, dir);
}

async function compareShipped(py: string | null, dir: string): Promise<void> {
  // The shipped model at the RL test's shape.
  const shipped = loadShipped(SHIPPED);
  const check = await logitsFile(shipped, dir);
  const pt = py ? runTorch(py, ['--model', SHIPPED, '--check-logits', check, ...shapeArgs(RL_SHAPE)]) : null;
  const tz = await measureTabZero(shipped, RL_SHAPE, { rollout: true, profile: true, recompute: 'recomputeLayers' in shipped });
  // The same step with tfjs-wasm's own products, in the same run: the kernel's gain, not the machine's mood.
  setWasmGemmEnabled(false);
  const xnn = await measureTabZero(shipped, RL_SHAPE, { rollout: true, profile: false });
  setWasmGemmEnabled(true);
  shipped.dispose();
  table(`shipped model (${RL_SHAPE.prompts} prompts × ${RL_SHAPE.generations}, ${RL_SHAPE.promptLen}-token prompts, ${RL_SHAPE.newTokens} new tokens, micro-batch ${RL_SHAPE.microBatch})`, tz, pt, xnn);
  console.log(`\nPyTorch: ${JSON.stringify(pt)}\nTabZero: ${JSON.stringify(tz)}\nTabZero, XNNPACK products: ${JSON.stringify(xnn)}`);
}

/** One 135M-shaped update at the given shape, in this process; prints SMOL_RESULT and its figures or error. */
async function smolAttempt(shape: Shape): Promise<void> {
  const big = randomModel(SMOLLM_SHAPE_CONFIG, 1);
  try {
    // Only the update with recomputed layers: the smallest footprint.
    const tz = await measureTabZero(big, shape, { rollout: false, profile: true, recompute: true, plain: false });
    console.log(`SMOL_RESULT ${JSON.stringify({ ok: true, ...tz })}`);
  } catch (e) {
    console.log(`SMOL_RESULT ${JSON.stringify({ ok: false, error: (e as Error).message, live_bytes: tf.memory().numBytes })}`);
  }
}

/** Each attempt in a child process: a wasm heap that ran out of memory is dead for the rest of its process. */
function smolChild(shape: Shape): Record<string, unknown> {
  const r = spawnSync(process.execPath, [...process.execArgv, process.argv[1]!, '--smol-shape', JSON.stringify(shape)], { encoding: 'utf8', maxBuffer: 1 << 26 });
  const line = (r.stdout ?? '').split('\n').find((l) => l.startsWith('SMOL_RESULT '));
  return line ? (JSON.parse(line.slice('SMOL_RESULT '.length)) as Record<string, unknown>) : { ok: false, error: (r.stderr || `exit ${r.status}`).trim().split('\n').slice(-2).join(' ') };
}

async function compareSmol(py: string | null, dir: string): Promise<void> {
  // SmolLM2-135M's shape, random weights: weights + gradients + two AdamW moments are 16 bytes a
  // parameter before any activation, against wasm32's 4 GiB heap.
  const candidates: Shape[] = [
    { prompts: 1, generations: 2, promptLen: 16, newTokens: 32, microBatch: 1 },
    { prompts: 1, generations: 2, promptLen: 16, newTokens: 32, microBatch: 2 },
    { prompts: 1, generations: 1, promptLen: 16, newTokens: 32, microBatch: 1 },
    { prompts: 1, generations: 1, promptLen: 8, newTokens: 8, microBatch: 1 },
  ];
  const cfgPath = join(dir, 'config.json');
  writeFileSync(cfgPath, JSON.stringify(SMOLLM_SHAPE_CONFIG));
  const state = 16 * 134515008;
  console.log(`\nSmolLM2-135M shape: 134515008 parameters; weights + gradients + AdamW moments = ${gb(state)} of wasm32's 4.295 GB heap, leaving ${gb(2 ** 32 - state)} for activations, the accumulated gradients of a second micro-batch (${gb(4 * 134515008)}), the tied head's transposed copies (${gb(4 * 49152 * 576)} each) and allocator slack.`);
  for (const shape of candidates) {
    const label = `${shape.prompts} × ${shape.generations}, ${shape.promptLen} + ${shape.newTokens} tokens, micro-batch ${shape.microBatch}`;
    const tz = smolChild(shape);
    if (!tz['ok']) {
      console.log(`TabZero wasm, 135M shape (${label}), layers recomputed: failed: ${String(tz['error'])}`);
      continue;
    }
    const pt = py ? runTorch(py, ['--config', cfgPath, '--no-rollout', ...shapeArgs(shape)]) : null;
    table(`SmolLM2-135M shape, random weights (${label}), TabZero with layers recomputed: the largest shape tried that fits`, tz as unknown as TabZeroFigures, pt);
    console.log(`\nPyTorch: ${JSON.stringify(pt)}\nTabZero: ${JSON.stringify(tz)}`);
    return;
  }
  console.log('No 135M-shaped update shape tried fits in the wasm heap.');
}
