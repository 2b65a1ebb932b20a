/**
 * The app in real Chromium: load, train, watch charts and probes, pause, reload and resume,
 * reward errors inline, export. The first block drives the page with the mock worker (?mock), so the
 * UI is checked on its own; the second drives the real training worker on WebGPU with the embedded model.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { artifactPath, buildApp, launchChromium, ROOT, serveStatic, type Browser, type StaticServer } from './harness';

const HAS_CHROMIUM = existsSync('/usr/bin/chromium');
const HAS_WORKER = existsSync(join(ROOT, 'src/worker/training-worker.ts'));
const HAS_MODEL = existsSync(join(ROOT, 'public/models/tabzero-tiny/config.json')) && existsSync(join(ROOT, 'public/models/tabzero-tiny/model.safetensors'));

let outDir = '';
let server: StaticServer;

beforeAll(async () => {
  if (!HAS_CHROMIUM) return;
  outDir = await buildApp();
  server = await serveStatic(outDir);
});

afterAll(async () => {
  await server?.close();
  if (outDir) rmSync(outDir, { recursive: true, force: true });
});

async function chartPoints(page: Page, id: string): Promise<number> {
  const v = await page.locator(`[data-testid="chart-${id}"]`).getAttribute('data-points').catch(() => null);
  return v === null ? 0 : Number(v);
}

async function stepCount(page: Page): Promise<number> {
  const t = await page.getByTestId('step-count').textContent();
  return Number(/(\d+)/.exec(t ?? '')?.[1] ?? 0);
}

async function longTasks(page: Page): Promise<{ start: number; duration: number }[]> {
  return page.evaluate(() => (self as unknown as { __longtasks: { start: number; duration: number }[] }).__longtasks);
}

async function openTab(page: Page, name: string) {
  await page.getByRole('tab', { name }).click();
}

function collectConsole(page: Page, into: string[]) {
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') into.push(`${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => into.push(`pageerror: ${e.message}`));
}

describe.skipIf(!HAS_CHROMIUM)('app with the mock worker (UI only)', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await launchChromium();
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

    const slow = (await longTasks(page)).filter((t) => t.start >= trainStart && t.start <= trainEnd && t.duration > 100);
    expect(slow, 'main-thread long tasks over 100 ms while training').toEqual([]);

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
