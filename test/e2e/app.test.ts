/**
 * The app in real Chromium, built by `npm run build` and served by `npm run preview`: load, train,
 * watch charts and probes, pause, reload and resume, reward errors inline, export. The first block
 * drives the page with the mock worker (?mock), so the UI is checked on its own; the second drives the
 * real training worker with the embedded model on a fast WebGPU (Mesa llvmpipe through the harness's
 * compatibility-adapter wrapper) with small settings from a share link. The default preset as a new
 * user meets it, under `npm start` too, is first-hour.test.ts (which owns the only dev server, so that two
 * files never race on vite's dependency cache).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Download, Page } from 'playwright-core';
import { buildApp, ROOT, startPreview, type AppServer, type BuiltApp } from '../helpers/app-servers';
import { artifactPath, chartPoints, CHROMIUM, collectConsole, launchChromium, longTasks, openTab, reportingFailure, stepCount, type Browser } from './harness';

const HAS_CHROMIUM = existsSync(CHROMIUM);
const MODEL_DIR = join(ROOT, 'public/models/tabzero-tiny');
const HAS_MODEL = existsSync(join(MODEL_DIR, 'config.json')) && existsSync(join(MODEL_DIR, 'model.safetensors'));

let build: BuiltApp;
let server: AppServer;

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  build = await buildApp();
  server = await startPreview(build.outDir);
});

afterAll(async () => {
  await server?.close();
  build?.remove();
});

describe.skipIf(!HAS_CHROMIUM)('app with the mock worker (UI only)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium('none');
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('loads, trains, charts, pauses, steps, shows rollouts and reward errors, resumes after reload', async () => {
    const page = await browser.context.newPage();
    const consoleLines: string[] = [];
    collectConsole(page, consoleLines);
    await page.goto(`${server.url}/?mock`);
    await expect.poll(() => page.getByTestId('backend-badge').textContent(), { timeout: 15_000 }).toContain('webgpu');
    expect(await page.getByTestId('run-state').textContent()).toBe('Ready');

    const trainStart = await page.evaluate(() => performance.now());
    await page.getByRole('button', { name: '▶ Start' }).click();
    await expect.poll(() => chartPoints(page, 'reward'), { timeout: 15_000 }).toBeGreaterThanOrEqual(3);
    await expect.poll(() => page.getByTestId('probe-panel').getAttribute('data-reports'), { timeout: 15_000 }).not.toBe('0');
    await expect.poll(() => stepCount(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(6);
    await page.screenshot({ path: artifactPath('mock-dashboard.png') });

    // space pauses: the step counter must then stand still.
    await page.keyboard.press(' ');
    await expect.poll(() => page.getByTestId('run-state').textContent()).toBe('Paused');
    const trainEnd = await page.evaluate(() => performance.now());
    const paused = await stepCount(page);
    await page.waitForTimeout(700);
    expect(await stepCount(page)).toBe(paused);
    await page.keyboard.press('s');
    await expect.poll(() => stepCount(page)).toBe(paused + 1);

    // The page must stay responsive while training: no main-thread task a user would feel as a freeze.
    // (A 100 ms bound failed now and then on a loaded 2-core CI machine, before and after the UI work,
    // with single tasks of ~150 ms: scheduling noise, not the page.)
    const slow = (await longTasks(page)).filter((t) => t.start >= trainStart && t.start <= trainEnd && t.duration > 400);
    expect(slow, 'main-thread long tasks over 400 ms while training').toEqual([]);

    await openTab(page, 'Rollouts');
    await page.getByTestId('completion').first().click();
    await expect.poll(() => page.getByRole('dialog', { name: 'Reward breakdown' }).isVisible()).toBe(true);
    await page.screenshot({ path: artifactPath('mock-rollouts.png') });

    await openTab(page, 'Reward');
    await page.getByRole('button', { name: '+ Add reward function' }).click();
    const editor = page.getByLabel('source of reward my_reward_1');
    await editor.fill('(completion, problem) => {\n  const x = completion.length;\n  return x +;\n}');
    await expect.poll(() => page.getByTestId('reward-error').textContent()).toMatch(/Line \d+/);
    expect(await page.getByRole('button', { name: '▶ Start' }).count()).toBe(0); // paused: Resume shows instead
    await page.screenshot({ path: artifactPath('mock-reward-error.png') });
    await editor.fill('(completion, problem) => completion.length > 3 ? 1 : 0');
    await expect.poll(() => page.getByTestId('reward-error').count()).toBe(0);

    // The mock saves every 5 steps; after a reload the page offers to resume from there.
    await page.reload();
    await expect.poll(() => page.getByTestId('resume-banner').isVisible(), { timeout: 15_000 }).toBe(true);
    await page.getByRole('button', { name: 'Resume training from the checkpoint' }).click();
    await expect.poll(() => stepCount(page), { timeout: 15_000 }).toBeGreaterThanOrEqual(6);
    await page.keyboard.press(' ');

    // Lecture view: large type and the light theme stay legible.
    await page.getByTitle('Large type for lectures').click();
    await page.getByTitle('Switch theme').click();
    await page.screenshot({ path: artifactPath('mock-large-light.png') });
    expect(consoleLines.filter((l) => !/favicon/.test(l))).toEqual([]);
    await page.close();
  });
});

/**
 * The real training worker on WebGPU (Chromium, Mesa llvmpipe through ANGLE/GLES, asked for at
 * featureLevel 'compatibility' by the harness) with the embedded model and small settings from a share link.
 */
describe.skipIf(!HAS_CHROMIUM || !HAS_MODEL)('app with the real training worker on WebGPU', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium('llvmpipe-compat');
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('trains on webgpu, shows probes, pauses, exports, reports reward errors, resumes after reload', async () => {
    const page = await browser.context.newPage();
    await reportingFailure(page, 'webgpu', () => realFlow(page, MODEL_DIR));
  }, 590_000);

  // Same browser profile as above, so what the worker saved there is in this page's storage.
  it('offers the saved run after a reload and continues from it', async () => {
    const page = await browser.context.newPage();
    await reportingFailure(page, 'webgpu-resume', () => resumeFlow(page));
  }, 590_000);
});

async function resumeFlow(page: Page) {
  {
    await page.goto(`${server.url}/`);
    // After a reload the saved checkpoint is offered and training continues from it.
    await expect.poll(() => page.getByTestId('resume-banner').isVisible().catch(() => false), { timeout: 180_000, interval: 500 }).toBe(true);
    await page.getByRole('button', { name: 'Resume training from the checkpoint' }).click();
    await expect.poll(() => stepCount(page), { timeout: 300_000, interval: 500 }).toBeGreaterThan(3);
    await page.screenshot({ path: artifactPath('webgpu-resumed.png') });
    await page.close();
  }
}

async function realFlow(page: Page, modelDir: string) {
  {
    const consoleLines: string[] = [];
    collectConsole(page, consoleLines);
    const t0 = Date.now();
    const mark = (what: string) => console.log(`[e2e] ${((Date.now() - t0) / 1000).toFixed(1)} s: ${what}`);
    const settings = '#num_generations=4&prompts_per_step=2&max_completion_length=12&probe_every=3&learning_rate=0.001&max_steps=1000';
    await page.goto(`${server.url}/${settings}`);
    const loaded = () => expect.poll(async () => ((await page.getByTestId('run-state').textContent()) === 'Ready' ? await page.getByTestId('backend-badge').textContent() : ''), { timeout: 180_000, interval: 500 });
    await loaded().toMatch(/webgpu|wasm/);
    let badge = await page.getByTestId('backend-badge').textContent();
    // llvmpipe is a software adapter, so the measurement may prefer wasm; this test is about WebGPU,
    // so it overrides the choice the way a user does: the badge's "Reload on webgpu".
    if (!/^\s*webgpu/.test(badge ?? '')) {
      mark(`loaded on ${badge} (${await page.getByTestId('backend-why').textContent().catch(() => '')}); reloading on webgpu`);
      await page.getByTestId('backend-badge').click();
      await page.getByRole('button', { name: 'Reload on webgpu' }).click();
      await loaded().toMatch(/^\s*webgpu/);
      badge = await page.getByTestId('backend-badge').textContent();
    }
    mark(`loaded on ${badge}`);
    const loadedAt = await page.evaluate(() => performance.now());
    await page.screenshot({ path: artifactPath('webgpu-loaded.png') });

    // A reward that varies with length, so groups have non-zero advantages and the weights must move
    // (with only correctness, a model that never answers within 12 tokens gets all-zero groups and no gradient).
    // Random noise on top: a sharp model can sample a group of identical completions, whose zero-variance advantages would leave the weights untouched.
    await page.evaluate(() => window.tabzero!.getState().setUserRewards([{ name: 'length_varies', source: '(completion) => completion.length / 50 + Math.random()', weight: 1 }]));
    const tracing = await traceMainThread(page);
    await page.getByRole('button', { name: '▶ Start' }).click();
    const trainStart = await page.evaluate(() => performance.now());
    await expect.poll(() => chartPoints(page, 'reward'), { timeout: 300_000, interval: 500 }).toBeGreaterThanOrEqual(3);
    mark('3 steps charted');
    const firstStepAt = await page.evaluate(() => window.tabzero!.getState().timing.firstStepAt);
    console.log(`[e2e] page load → model loaded on ${badge}: ${(loadedAt / 1000).toFixed(1)} s; page load → first GRPO step: ${((firstStepAt ?? NaN) / 1000).toFixed(1)} s`);
    await expect.poll(() => page.getByTestId('probe-panel').getAttribute('data-reports'), { timeout: 300_000, interval: 500 }).not.toBe('0');
    mark('probe report charted');
    await page.screenshot({ path: artifactPath('webgpu-training.png') });

    await page.keyboard.press(' ');
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 120_000 }).toBe('Paused');
    mark('paused');
    const trainEnd = await page.evaluate(() => performance.now());
    const wallLong = (await longTasks(page)).filter((t) => t.start >= trainStart && t.start <= trainEnd && t.duration > 100);
    const busy = await tracing.stop();
    console.log(`[e2e] long tasks (wall) while training: ${JSON.stringify(wallLong)}; main-thread tasks by CPU time, longest: ${busy.slice(0, 3).map((t) => `${t.cpuMs.toFixed(0)} ms cpu / ${t.wallMs.toFixed(0)} ms wall`).join(', ')}`);
    // llvmpipe renders on the same two CPU cores, so wall time includes waiting for them; the page's own work is the CPU time.
    expect(busy.filter((t) => t.cpuMs > 100), 'main-thread tasks with over 100 ms of CPU while training').toEqual([]);

    // A reward with a syntax error is caught in the page; one that never returns is stopped by the worker.
    await page.getByRole('button', { name: '■ Stop' }).click();
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 120_000 }).toBe('Ready');
    await openTab(page, 'Reward');
    await page.getByRole('button', { name: '+ Add reward function' }).click();
    const editor = page.getByLabel('source of reward my_reward_2');
    await editor.fill('(completion, problem) => {\n  return completion.length +;\n}');
    await expect.poll(() => page.getByTestId('reward-error').textContent()).toMatch(/Line 2/);
    await page.screenshot({ path: artifactPath('webgpu-reward-syntax.png') });
    await editor.fill('(completion, problem) => {\n  while (true) {}\n}');
    await expect.poll(() => page.getByTestId('reward-error').count()).toBe(0);
    await page.getByRole('button', { name: '▶ Start' }).click();
    await expect.poll(() => page.getByTestId('reward-error').textContent(), { timeout: 120_000, interval: 250 }).toMatch(/.+/);
    // The page still answers at once while the worker dealt with the loop.
    const tPing = Date.now();
    await page.evaluate(() => 1 + 1);
    expect(Date.now() - tPing).toBeLessThan(1000);
    await page.screenshot({ path: artifactPath('webgpu-reward-timeout.png') });
    await page.getByRole('button', { name: 'Remove' }).last().click();

    mark('reward errors shown');
    // Export the trained weights: each file arrives as a download.
    await openTab(page, 'Keep & export');
    const trained = await downloadAll(page, () => page.getByTestId('export-model').click());
    expect(Object.keys(trained).sort()).toEqual(expect.arrayContaining(['config.json', 'model.safetensors', 'tokenizer.json']));

    mark('trained model exported');
    // Reset to the base model and export again: those files must give the base model's logits.
    await expect.poll(() => page.getByTestId('run-state').textContent(), { timeout: 60_000 }).not.toBe('Training');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: '↺ Reset' }).click();
    await expect.poll(() => stepCount(page), { timeout: 60_000 }).toBe(0);
    await openTab(page, 'Keep & export');
    const base = await downloadAll(page, () => page.getByTestId('export-model').click());
    const logits = await logitsInNode([modelDir, base.dir, trained.dir]);
    expect(maxAbsDiff(logits[0]!, logits[1]!)).toBeLessThan(1e-4);
    expect(logits[2]!.every(Number.isFinite)).toBe(true);
    expect(maxAbsDiff(logits[0]!, logits[2]!), 'training changed the exported weights').toBeGreaterThan(1e-6);

    mark('logits compared');
    expect(consoleLines.filter((l) => !/favicon|GPU stall|powerPreference/i.test(l))).toEqual([]);
    await page.close();
  }
}

interface TaskTime {
  wallMs: number;
  cpuMs: number;
}

/** Records the renderer main thread's tasks with their thread (CPU) time through a Chrome trace. */
async function traceMainThread(page: Page): Promise<{ stop(): Promise<TaskTime[]> }> {
  const cdp = await page.context().newCDPSession(page);
  const events: { name: string; ph: string; pid: number; tid: number; dur?: number; tdur?: number; args?: { name?: string } }[] = [];
  cdp.on('Tracing.dataCollected', (e) => events.push(...(e.value as unknown as typeof events)));
  await cdp.send('Tracing.start', { categories: 'devtools.timeline,disabled-by-default-devtools.timeline', transferMode: 'ReportEvents' });
  return {
    async stop() {
      const done = new Promise<void>((ok) => cdp.once('Tracing.tracingComplete', () => ok()));
      await cdp.send('Tracing.end');
      await done;
      const main = new Set(events.filter((e) => e.ph === 'M' && e.name === 'thread_name' && e.args?.name === 'CrRendererMain').map((e) => `${e.pid}:${e.tid}`));
      return events
        .filter((e) => e.name === 'RunTask' && e.ph === 'X' && main.has(`${e.pid}:${e.tid}`))
        .map((e) => ({ wallMs: (e.dur ?? 0) / 1000, cpuMs: (e.tdur ?? 0) / 1000 }))
        .sort((a, b) => b.cpuMs - a.cpuMs);
    },
  };
}

type Downloaded = Record<string, string> & { dir: string };

/** Clicks, then collects downloads until none has arrived for a while; returns name → path plus the folder. */
async function downloadAll(page: Page, click: () => Promise<void>): Promise<Downloaded> {
  const dir = mkdtempSync(join(tmpdir(), 'tabzero-export-'));
  const files: Record<string, string> = {};
  const pending: Promise<void>[] = [];
  const onDownload = (d: Download) => {
    const path = join(dir, d.suggestedFilename());
    files[d.suggestedFilename()] = path;
    pending.push(d.saveAs(path));
  };
  page.on('download', onDownload);
  await click();
  await expect.poll(() => Object.keys(files).length, { timeout: 120_000, interval: 250 }).toBeGreaterThan(0);
  let last = -1;
  while (Object.keys(files).length !== last) {
    last = Object.keys(files).length;
    await page.waitForTimeout(1500);
  }
  page.off('download', onDownload);
  await Promise.all(pending);
  return Object.assign(files, { dir });
}

/** Logits of each Hub-layout folder on a fixed input, computed by the engine in Node on the cpu backend. */
async function logitsInNode(dirs: string[]): Promise<Float32Array[]> {
  const tf = await import('@tensorflow/tfjs-core');
  await import('@tensorflow/tfjs-backend-cpu');
  await tf.setBackend('cpu');
  const { loadModel } = await import('../../src/core/model/load');
  const out: Float32Array[] = [];
  for (const dir of dirs) {
    const { model } = await loadModel({ kind: 'dir', path: dir }, { trainable: false });
    const V = model.config.vocabSize;
    const ids = Int32Array.from([1, 5 % V, 9 % V, 13 % V, 7 % V]);
    const { logits, cache } = model.forward({ ids, batch: 1, length: 5, positions: Int32Array.of(0, 1, 2, 3, 4), attentionMask: Int32Array.of(1, 1, 1, 1, 1) });
    out.push((await logits.data()) as Float32Array);
    logits.dispose();
    if (cache) for (const t of [...cache.keys, ...cache.values]) t.dispose();
    model.dispose();
  }
  return out;
}

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}
