/**
 * A lecture-preset candidate run on the shipped model, through the same TrainingSession the page's
 * worker drives, on wasm: every step's reward and the probes, each with the seconds since Start.
 *
 *   npx tsx bench/lecture-run.ts --preset lecture [--set key=value,...] [--probe-n 64] [--probe-every 4]
 *        [--steps 12] [--out test-artifacts/lecture-run.jsonl]
 *
 * Prints one JSON line per event (metrics, probes) and writes them to --out. Figures only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { TrainingSession } from '../src/worker/session';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { applyPreset, toPatch } from '../src/ui/config-schema';
import type { GrpoConfigPatch, WorkerEvent } from '../src/worker/protocol';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}

const preset = applyPreset(arg('preset', 'lecture') as 'lecture');
const patch: GrpoConfigPatch = toPatch(preset.config);
for (const kv of arg('set', '').split(',').filter(Boolean)) {
  const [k, v] = kv.split('=');
  patch[k!] = v === 'true' ? true : v === 'false' ? false : Number.isNaN(Number(v)) ? v! : Number(v);
}
const steps = Number(arg('steps', '12'));
patch.max_steps = Number(arg('max-steps', String(steps)));
const probeEvery = Number(arg('probe-every', String(preset.probeEvery)));
const probeCount = Number(arg('probe-n', '64'));
const out = arg('out', 'test-artifacts/lecture-run.jsonl');

const lines: string[] = [];
let t0 = 0;
let cpu0 = process.cpuUsage();
let finished: () => void = () => undefined;
const done = new Promise<void>((r) => (finished = r));
let step = 0;
const session = new TrainingSession(
  (e: WorkerEvent) => {
    const t = (performance.now() - t0) / 1000;
    // CPU seconds of this process: on an idle machine wasm (one thread) takes about this long in wall time.
    const u = process.cpuUsage(cpu0);
    const cpu = (u.user + u.system) / 1e6;
    let line: object | null = null;
    if (e.type === 'metrics') {
      step = e.step;
      line = { t, cpu, step: e.step, reward: e.metrics.reward, correctness: e.metrics['rewards/correctness/mean'], len: e.metrics['completions/mean_length'], rollout_s: e.metrics.rollout_time_s, update_s: e.metrics.update_time_s };
    }
    if (e.type === 'probes') line = { t, cpu, probe: e.report };
    if (e.type === 'memoryPlan') line = { t, memoryPlan: e.plan };
    if (e.type === 'error') {
      line = { t, error: e.message };
      finished();
    }
    if (e.type === 'state' && e.reason === 'max_steps reached') finished();
    if (line) {
      const s = JSON.stringify(line);
      lines.push(s);
      console.log(s);
    }
    // The last step's probe (when it has one) comes after its metrics.
    if (e.type === 'metrics' && e.step >= steps && !(probeEvery > 0 && e.step % probeEvery === 0)) finished();
    if (e.type === 'probes' && e.report.step >= steps) finished();
  },
  { initBackend: () => initNodeBackend('wasm'), embedded: { kind: 'dir', path: resolve('public/models/tabzero-tiny') } },
  { probeCount, probeSeed: 1234, checkpointEvery: 0 },
);
await session.handle({ type: 'load', source: { kind: 'embedded' }, backend: 'wasm' });
t0 = performance.now();
cpu0 = process.cpuUsage();
console.log(JSON.stringify({ config: patch, probeEvery, probeCount }));
lines.push(JSON.stringify({ config: patch, probeEvery, probeCount }));
await session.handle({ type: 'start', config: patch, task: { kind: 'toy-world' }, probeEvery });
await done;
await session.dispose();
mkdirSync(dirname(out), { recursive: true });
writeFileSync(out, lines.join('\n') + '\n');
