/**
 * The Experiments view in Chromium on the real training worker (wasm, the embedded model), served
 * by `npm run build` + `npm run preview` (the dev server belongs to first-hour.test.ts, so two files
 * never race on vite's dependency cache): a reduced recipe runs from the form, shows progress and
 * the table after an arm, finishes; a second run is stopped with its finished arm kept; both are
 * listed again after a reload (browser storage). Takes a screenshot of the view while it runs
 * (docs/experiments-view.png with UPDATE_DOCS_SCREENSHOTS=1, else under test-artifacts/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { buildApp, ROOT, startPreview, type AppServer, type BuiltApp } from '../helpers/app-servers';
import { artifactPath, CHROMIUM, collectConsole, launchChromium, openTab, reportingFailure, runState, type Browser } from './harness';

const HAS_CHROMIUM = existsSync(CHROMIUM);
const HAS_MODEL = existsSync(join(ROOT, 'public/models/tabzero-tiny/model.safetensors'));

describe.skipIf(!HAS_CHROMIUM || !HAS_MODEL)('Experiments view in Chromium', () => {
  let build: BuiltApp;
  let server: AppServer;
  let browser: Browser;

  beforeAll(async () => {
    build = await buildApp();
    server = await startPreview(build.outDir);
    browser = await launchChromium('none');
  }, 400_000);

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    build?.remove();
  });

  it('runs a reduced recipe in the page, shows progress and the table; Stop keeps the finished arm; a reload lists both', async () => {
    const page = await browser.context.newPage();
    await page.setViewportSize({ width: 1280, height: 1000 });
    const consoleLines: string[] = [];
    collectConsole(page, consoleLines);
    await page.goto(`${server.url}/?backend=wasm`);
    await reportingFailure(page, 'experiments', async () => {
      await expect.poll(() => runState(page), { timeout: 120_000 }).toBe('Ready');
      await openTab(page, 'Experiments');
      await page.getByLabel('Recipe').selectOption('decomposition');
      for (const [label, v] of [['RL steps', '2'], ['probe problems', '6'], ['samples (k)', '2']] as const) await page.getByLabel(label, { exact: true }).fill(v);
      await page.getByTestId('experiment-start').click();
      const record = page.getByTestId('experiment-record').first();
      await expect.poll(() => record.getAttribute('data-status'), { timeout: 30_000 }).toBe('running');
      // The base arm's row arrives while the RL arm trains: the picture of a run in progress.
      await expect.poll(() => record.getByTestId('experiment-table').locator('tbody tr').count(), { timeout: 300_000 }).toBe(1);
      await expect.poll(() => record.getByTestId('experiment-progress').textContent(), { timeout: 120_000 }).toMatch(/RL on plain prompts, seed 1: training, step \d of 2/);
      await page.getByTestId('experiment-record').first().scrollIntoViewIfNeeded();
      // The documented picture is rewritten only on request, so that a test run leaves the tree clean.
      await page.screenshot({ path: process.env.UPDATE_DOCS_SCREENSHOTS ? join(ROOT, 'docs/experiments-view.png') : artifactPath('experiments-view.png'), fullPage: false });
      await expect.poll(() => record.getAttribute('data-status'), { timeout: 600_000 }).toBe('complete');
      expect(await record.getByTestId('experiment-table').locator('tbody tr').count()).toBe(2);
      // A second run, stopped while its RL arm trains: the base arm's row stays.
      await page.getByTestId('experiment-start').click();
      const second = page.getByTestId('experiment-record').first();
      await expect.poll(() => second.getByTestId('experiment-progress').textContent(), { timeout: 300_000 }).toMatch(/RL on plain prompts, seed 1: training/);
      await second.getByRole('button', { name: 'Stop' }).click();
      await expect.poll(() => second.getAttribute('data-status'), { timeout: 120_000 }).toBe('stopped');
      expect(await second.getByTestId('experiment-table').locator('tbody tr').count()).toBe(1);
      // Stored in the browser: a reload lists both, newest first, each with its table.
      await page.reload();
      await expect.poll(() => runState(page), { timeout: 120_000 }).toBe('Ready');
      await openTab(page, 'Experiments');
      const records = page.getByTestId('experiment-record');
      await expect.poll(() => records.count(), { timeout: 30_000 }).toBe(2);
      expect([await records.nth(0).getAttribute('data-status'), await records.nth(1).getAttribute('data-status')]).toEqual(['stopped', 'complete']);
      expect(await records.nth(0).getByTestId('experiment-table').locator('tbody tr').count()).toBe(1);
      expect(await records.nth(1).getByTestId('experiment-table').locator('tbody tr').count()).toBe(2);
    });
    expect(consoleLines.filter((l) => l.startsWith('pageerror'))).toEqual([]);
  }, 1_200_000);

  // A measurement, not a check: how long each recipe's quick size takes in the page on wasm.
  // EXPERIMENT_QUICK_TIMING=plan-knowledge,decomposition npx vitest run test/e2e/experiments.test.ts
  const timed = (process.env.EXPERIMENT_QUICK_TIMING ?? '').split(',').filter((x) => x.length > 0);
  it.runIf(timed.length > 0)(`times the quick size of ${timed.join(', ') || 'no recipe'} in the page`, async () => {
    const page = await browser.context.newPage();
    await page.goto(`${server.url}/?backend=wasm`);
    await expect.poll(() => runState(page), { timeout: 120_000 }).toBe('Ready');
    await openTab(page, 'Experiments');
    for (const name of timed) {
      await page.getByLabel('Recipe').selectOption(name);
      await page.getByLabel('quick', { exact: false }).first().check();
      const t0 = Date.now();
      await page.getByTestId('experiment-start').click();
      const record = page.getByTestId('experiment-record').first();
      await expect.poll(() => record.getAttribute('data-status'), { timeout: 30_000 }).toBe('running');
      await expect.poll(() => record.getAttribute('data-status'), { timeout: 1_500_000, interval: 1000 }).toBe('complete');
      console.log(`[quick timing] ${name}: ${((Date.now() - t0) / 1000).toFixed(0)} s in Chromium on wasm`);
    }
  }, 3_000_000);
});
