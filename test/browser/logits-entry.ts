/** Bundled for the browser test: load the tiny model served next to this page and report its logits on the chosen backend. */
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../src/core/backend';
import { parseConfig } from '../../src/core/model/config';
import { parseSafetensors } from '../../src/core/model/safetensors';
import { CausalLM } from '../../src/core/model/causal-lm';
import { generate } from '../../src/core/model/generate';

declare global {
  interface Window {
    __result?: unknown;
  }
}

async function runTest(): Promise<unknown> {
  const report = await initBackend('webgpu', { wasmPaths: '/wasm/' });
  const config = parseConfig((await (await fetch('model/config.json')).json()) as Record<string, unknown>);
  const tensors = parseSafetensors(new Uint8Array(await (await fetch('model/model.safetensors')).arrayBuffer()));
  const input = (await (await fetch('input.json')).json()) as { ids: number[]; positions: number[]; mask: number[]; batch: number; length: number };
  const before = tf.memory().numTensors;
  const model = new CausalLM(config, tensors);
  const { logits } = model.forward({
    ids: Int32Array.from(input.ids),
    positions: Int32Array.from(input.positions),
    attentionMask: Int32Array.from(input.mask),
    batch: input.batch,
    length: input.length,
  });
  const data = Array.from(await logits.data());
  logits.dispose();
  const gen = await generate(model, [[1, 5, 6]], { maxNewTokens: 5, temperature: 0, seed: 0, eosTokenIds: [], padTokenId: 0 });
  model.dispose();
  return { report, logits: data, greedy: gen.tokens[0], leaked: tf.memory().numTensors - before };
}

runTest().then(
  (r) => (window.__result = r),
  (e: Error) => (window.__result = { error: `${e.name}: ${e.message}` }),
);
