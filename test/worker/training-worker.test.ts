/**
 * The training worker as the page runs it: the vite build's worker bundle in Chromium on WebGPU
 * (software adapter), loading a tiny Hub-layout model over HTTP, training, pausing, stepping.
 */
import { cpSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, launchChromium, serveStatic, type Browser, type StaticServer } from '../e2e/harness';
import { tinyModelFiles } from '../fixtures/tiny-model';
import type { WorkerEvent } from '../../src/worker/protocol';

const HAS_CHROMIUM = existsSync('/usr/bin/chromium');

describe.skipIf(!HAS_CHROMIUM)('training worker in Chromium', () => {
  let outDir = '';
  let server: StaticServer;
  let browser: Browser;
  let workerUrl = '';

  beforeAll(async () => {
    outDir = await buildApp();
    const models = join(outDir, 'models', 'tabzero-tiny');
    rmSync(models, { recursive: true, force: true });
    mkdirSync(models, { recursive: true });
    for (const [name, data] of tinyModelFiles('llama')) writeFileSync(join(models, name), data);
    writeFileSync(join(outDir, 'blank.html'), '<!doctype html><title>worker test</title>');
    const worker = readdirSync(join(outDir, 'assets')).find((f) => /^training-worker.*\.js$/.test(f));
    if (!worker) throw new Error(`no training-worker bundle in ${readdirSync(join(outDir, 'assets')).join(', ')}`);
    workerUrl = `/assets/${worker}`;
    server = await serveStatic(outDir);
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (outDir) rmSync(outDir, { recursive: true, force: true });
  });

  it('loads on webgpu, trains, reports metrics and rollouts, pauses and steps', async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/blank.html`);
    const events = (await page.evaluate(async (url) => {
      const w = new Worker(url, { type: 'module' });
      const events: WorkerEvent[] = [];
      const waitFor = (pred: (e: WorkerEvent) => boolean, ms = 90_000) =>
        new Promise<void>((resolve, reject) => {
          const t = setTimeout(() => reject(new Error(`timed out; last events: ${JSON.stringify(events.slice(-3)).slice(0, 600)}`)), ms);
          const check = () => {
            if (events.some(pred)) {
              clearTimeout(t);
              resolve();
            } else setTimeout(check, 50);
          };
          check();
        });
      w.onmessage = (e: MessageEvent<WorkerEvent>) => events.push(e.data);
      w.postMessage({ type: 'load', source: { kind: 'embedded' }, backend: 'webgpu' });
      await waitFor((e) => e.type === 'loaded' || e.type === 'error');
      w.postMessage({ type: 'start', config: { num_generations: 4, prompts_per_step: 2, max_completion_length: 6 }, task: { kind: 'jsonl', name: 'sums', text: Array.from({ length: 8 }, (_, i) => JSON.stringify({ question: `${i}+1`, answer: String(i + 1) })).join('\n') }, builtinRewards: [], rewards: [{ name: 'len', source: '(c) => c.length / 6', weight: 1 }] });
      await waitFor((e) => (e.type === 'metrics' && e.step === 2) || e.type === 'error');
      w.postMessage({ type: 'pause' });
      await waitFor((e) => e.type === 'state' && e.state === 'paused');
      const n = events.filter((e) => e.type === 'metrics').length;
      await new Promise((r) => setTimeout(r, 3000));
      w.postMessage({ type: 'step' });
      await waitFor((e) => e.type === 'metrics' && events.filter((x) => x.type === 'metrics').length === n + 1);
      w.terminate();
      return events.map((e) => (e.type === 'exported' ? { type: e.type } : e));
    }, workerUrl)) as WorkerEvent[];
    const errors = events.filter((e) => e.type === 'error');
    expect(errors, JSON.stringify(errors)).toEqual([]);
    const loaded = events.find((e) => e.type === 'loaded') as Extract<WorkerEvent, { type: 'loaded' }>;
    expect(loaded.backend.name).toBe('webgpu');
    const metrics = events.filter((e) => e.type === 'metrics') as Extract<WorkerEvent, { type: 'metrics' }>[];
    expect(metrics.length).toBeGreaterThanOrEqual(3);
    expect(Number.isFinite(metrics[0]!.metrics.grad_norm)).toBe(true);
    expect(metrics[0]!.metrics['rewards/len/mean']).toBeTypeOf('number');
    const rollouts = events.find((e) => e.type === 'rollouts') as Extract<WorkerEvent, { type: 'rollouts' }>;
    expect(rollouts.groups[0]!.completions).toHaveLength(4);
    // Paused for 3 s: no step ran until the explicit one.
    const steps = metrics.map((m) => m.step);
    expect(steps).toEqual([...steps].sort((a, b) => a - b));
    // Tensor count is flat from step 2 on (step 1 makes the engine's lazy caches).
    expect(metrics[metrics.length - 1]!.metrics.num_tensors).toBe(metrics[1]!.metrics.num_tensors);
  });
});
