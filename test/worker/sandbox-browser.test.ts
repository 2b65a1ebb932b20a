/**
 * The user-reward sandbox in real Chromium: a Blob-URL Worker per function, killed on timeout,
 * with no network, reporting syntax errors by line.
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, ROOT, serveStatic, type Browser, type StaticServer } from '../e2e/harness';

const HAS_CHROMIUM = existsSync('/usr/bin/chromium');

describe.skipIf(!HAS_CHROMIUM)('sandboxed rewards in Chromium', () => {
  let dir = '';
  let server: StaticServer;
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tabzero-sandbox-'));
    await esbuild.build({
      stdin: {
        contents: "import { createSandboxedReward } from './src/core/rewards/sandbox'; import { runRewards } from './src/core/rewards/runner'; (self as any).tz = { createSandboxedReward, runRewards };",
        resolveDir: ROOT,
        loader: 'ts',
      },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'bundle.js'),
      logLevel: 'silent',
    });
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="bundle.js"></script>');
    server = await serveStatic(dir);
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.goto(`${server.url}/index.html`);
    await page.waitForFunction(() => 'tz' in self);
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  type Outcome = { ok: true; rewards: number[] } | { ok: false; name: string; kind: string; line?: number; column?: number; message: string };

  const score = (source: string, completions: string[], timeLimitMs = 400): Promise<Outcome> =>
    page.evaluate(
      async ({ source, completions, timeLimitMs }) => {
        type Tz = {
          createSandboxedReward(s: { name: string; source: string }, o: { timeLimitMs: number }): Promise<{ dispose(): void }>;
          runRewards(f: unknown[], w: number[], c: string[], p: unknown[]): Promise<{ rewards: number[] }>;
        };
        const tz = (self as unknown as { tz: Tz }).tz;
        const f = await tz.createSandboxedReward({ name: 'user', source }, { timeLimitMs });
        try {
          const r = await tz.runRewards([f], [1], completions, completions.map(() => ({ id: 'p', task: 't', question: 'q', answer: '4' })));
          return { ok: true as const, rewards: r.rewards };
        } catch (e) {
          const x = e as { rewardName: string; kind: string; line?: number; column?: number; message: string };
          return { ok: false as const, name: x.rewardName, kind: x.kind, line: x.line, column: x.column, message: x.message };
        } finally {
          f.dispose();
        }
      },
      { source, completions, timeLimitMs },
    );

  it('runs in a Worker (not the page) and scores', async () => {
    const r = await score('(c, p) => (c === p.answer ? 1 : 0) + (typeof document === "undefined" ? 0.5 : 0)', ['4', '5']);
    expect(r).toEqual({ ok: true, rewards: [1.5, 0.5] });
  });

  it('has no network', async () => {
    const r = await score('() => (typeof fetch === "undefined" && typeof XMLHttpRequest === "undefined" && typeof WebSocket === "undefined" && typeof importScripts === "undefined" ? 1 : 0)', ['a']);
    expect(r).toEqual({ ok: true, rewards: [1] });
  });

  it('interrupts an infinite loop', async () => {
    const t0 = Date.now();
    const r = await score('(c) => { while (true) {} }', ['a']);
    expect(r.ok).toBe(false);
    expect(r.ok === false && r.kind).toBe('timeout');
    expect(Date.now() - t0).toBeLessThan(5000);
  });

  it('reports a syntax error with its line', async () => {
    const r = await score('(c, p) => {\n  const x = 1;\n  return c.length +;\n}', ['a']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('syntax');
    expect(r.line).toBe(3);
  });

  it('reports a runtime throw with its line', async () => {
    const r = await score('(c) => {\n  return c.nope.length;\n}', ['a']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('threw');
    expect(r.line).toBe(2);
  });
});
