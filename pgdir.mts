// Diagnostic: one GRPO step on one prompt of the real model; does Σ A_i Δlogp_i come out positive?
import * as tf from '@tensorflow/tfjs';
import { loadModel } from './src/core/model/load';
import { generate } from './src/core/model/generate';
import { packBatch, tokenLogProbs } from './src/core/model/logprobs';
import { GRPOTrainer } from './src/core/grpo/trainer';
import { applyChatTemplate } from './src/core/probes/completer';
import { renderPrompt, ANSWER_CLOSE } from './src/core/tasks/prompt';
import { createTask } from './src/core/tasks/index';
import { builtinReward } from './src/core/rewards/builtin';
import { fromRewardFn } from './src/core/rewards/runner';
import { initNodeBackend } from './src/cli/node-webgpu';
import { Rng } from './src/core/rng';
await initNodeBackend('wasm');
const { model, tokenizer: tok } = await loadModel({ kind: 'dir', path: process.argv[2]! });
const lr = Number(process.argv[3] ?? 1e-4);
const ps = (createTask({ kind: 'toy-world', difficulty: 2 } as any) as any).sample(new Rng(5), 200).filter((p: any) => p.meta.steps.includes('remove'));
const P = ps[Number(process.argv[4] ?? 0)]; console.log(P.question, '=>', P.answer);
let captured: { rows: number[][]; tokens: number[][] } | null = null;
const tr = new GRPOTrainer({
  policy: model, tokenizer: { encode: (t) => tok.encode(t, { addSpecialTokens: false }), decode: (ids) => tok.decode(ids, { skipSpecialTokens: false }) },
  problems: { sample: (_r, n) => new Array(n).fill(P) },
  renderPrompt: (p, o) => applyChatTemplate(renderPrompt(p, o), (t) => tok.formatPrompt(t)),
  rewards: [fromRewardFn({ name: 'correctness', fn: builtinReward('correctness') })],
  generate: async (m, rows, o) => { const r = await generate(m, rows, o); captured = { rows, tokens: r.tokens }; return r; },
  config: { num_generations: 16, prompts_per_step: 1, learning_rate: lr, beta: 0, max_completion_length: 96, loss_type: 'dapo', seed: 3 },
  eosTokenIds: tok.eosTokenIds, padTokenId: tok.padTokenId, stopStrings: [ANSWER_CLOSE],
});
const res = await tr.trainStep();
const g = res.groups[0]!;
const c = captured!;
const batch = packBatch(c.rows, c.tokens.map((t) => (t.length ? t : [tok.padTokenId])), tok.padTokenId);
const seqLp = (lp: Float32Array) => { const L = batch.length; return c.rows.map((_, b) => { let s = 0; for (let t = 0; t < L; t++) if (batch.completionMask[b * L + t]) s += lp[b * L + t]!; return s; }); };
// logprobs after the update
const after = seqLp(await tf.tidy(() => tokenLogProbs(model, batch, 1).logprobs).data() as Float32Array);
console.log('rewards', g.completions.map((x) => x.reward).join(' '));
console.log('advantages', g.completions.map((x) => x.advantage.toFixed(2)).join(' '));
console.log(g.completions.slice(0, 4).map((x) => x.text.replace(/\n/g, ' ').slice(0, 150)).join('\n'));
(globalThis as any).__after = after;
// before: sampled logprobs aren't kept, so reload a fresh copy
const fresh = (await loadModel({ kind: 'dir', path: process.argv[2]! })).model;
const before = seqLp(await tf.tidy(() => tokenLogProbs(fresh, batch, 1).logprobs).data() as Float32Array);
let dot = 0; g.completions.forEach((x, i) => (dot += x.advantage * (after[i]! - before[i]!)));
console.log('Δlogp', after.map((a, i) => (a - before[i]!).toFixed(3)).join(' '));
console.log('Σ A·Δlogp', dot.toFixed(4), 'metrics', JSON.stringify({ loss: res.metrics.policy_loss, gn: res.metrics.grad_norm }));
