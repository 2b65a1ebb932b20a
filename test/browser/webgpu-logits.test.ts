/**
 * In headless Chromium on WebGPU (Mesa llvmpipe through ANGLE/GLES), the tiny model's logits equal
 * the cpu backend's in Node within 1e-4, greedy decoding gives the same tokens, and nothing leaks.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend, nodeWasmDir } from '../../src/cli/node-webgpu';
import { loadModel } from '../../src/core/model/load';
import { generate } from '../../src/core/model/generate';
import { tinyModelFiles } from '../fixtures/tiny-model';
import { launchChromium, serveFiles, type LaunchedChromium, type StaticServer } from '../helpers/chromium';
import type { Architecture } from '../../src/core/model/types';

let chrome: LaunchedChromium;
let bundle: string;

beforeAll(async () => {
  await initNodeBackend('cpu');
  const out = await build({
    entryPoints: [fileURLToPath(new URL('./logits-entry.ts', import.meta.url))],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    write: false,
    logLevel: 'silent',
  });
  bundle = out.outputFiles[0]!.text;
  chrome = await launchChromium({ webgpu: true });
});

afterAll(async () => {
  await chrome?.close();
});

const input = { batch: 2, length: 5, ids: [0, 1, 5, 6, 7, 1, 9, 8, 7, 6], mask: [0, 1, 1, 1, 1, 1, 1, 1, 1, 1], positions: [0, 0, 1, 2, 3, 0, 1, 2, 3, 4] };

describe.each<Architecture>(['llama', 'gpt2'])('%s in Chromium on WebGPU', (arch) => {
  it('matches cpu logits within 1e-4 and greedy tokens exactly', async () => {
    const files = tinyModelFiles(arch, { seed: 21 });
    const { model } = await loadModel({ kind: 'fetcher', label: 'tiny', fetch: async (n) => files.get(n) ?? null });
    const { logits } = model.forward({ ...input, ids: Int32Array.from(input.ids), positions: Int32Array.from(input.positions), attentionMask: Int32Array.from(input.mask) });
    const want = Array.from(logits.dataSync());
    logits.dispose();
    const greedy = await generate(model, [[1, 5, 6]], { maxNewTokens: 5, temperature: 0, seed: 0, eosTokenIds: [], padTokenId: 0 });
    model.dispose();
    expect(tf.memory().numTensors).toBe(0);

    const served = new Map<string, Uint8Array | string>([
      ['index.html', '<!doctype html><meta charset="utf-8"><script type="module" src="bundle.js"></script>'],
      ['bundle.js', bundle],
      ['input.json', JSON.stringify(input)],
    ]);
    for (const [n, d] of files) served.set(`model/${n}`, d);
    for (const w of ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm']) served.set(`wasm/${w}`, readFileSync(nodeWasmDir() + w));
    const server: StaticServer = await serveFiles(served);
    const ctx = await chrome.newContext();
    try {
      const page = await ctx.newPage();
      const logs: string[] = [];
      page.on('console', (m) => logs.push(m.text()));
      await page.goto(server.url);
      await page.waitForFunction(() => window.__result !== undefined, undefined, { timeout: 90_000 });
      const got = (await page.evaluate(() => window.__result)) as { error?: string; report: { name: string; adapter: string | null }; logits: number[]; greedy: number[]; leaked: number };
      expect(got.error, logs.join('\n')).toBeUndefined();
      expect(got.report.name).toBe('webgpu');
      expect(got.report.adapter).toBeTruthy();
      let maxErr = 0;
      for (let i = 0; i < want.length; i++) {
        // Position 0 of row 0 is a pad: its output is not defined by the model, skip it.
        if (i < model.config.vocabSize) continue;
        maxErr = Math.max(maxErr, Math.abs(want[i]! - got.logits[i]!));
      }
      expect(maxErr).toBeLessThan(1e-4);
      expect(got.greedy).toEqual(greedy.tokens[0]);
      expect(got.leaked).toBe(0);
    } finally {
      await ctx.close();
      await server.close();
    }
  });
});
