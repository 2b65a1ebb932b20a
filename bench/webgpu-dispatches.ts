/**
 * GPU work items on WebGPU: compute dispatches and queue submits per decode token and per update
 * step of the shipped 4-layer model, counted by wrapping the device's command encoders (Node:
 * Dawn on llvmpipe; counts do not depend on the adapter, times do, so none are printed).
 *
 *   npx tsx bench/webgpu-dispatches.ts
 *
 * Per decode token: the difference between generating 9 and 17 tokens, over 8. Per update step:
 * one micro-batch's forward + backward (log-probs and the dapo loss), and one AdamW step; the RL
 * test's step (128 rows in micro-batches of 32) is 4 of the first plus one of the second.
 */
import * as tf from '@tensorflow/tfjs-core';
import { resolve } from 'node:path';
import { initNodeBackend } from '../src/cli/node-webgpu';
import { generate } from '../src/core/model/generate';
import { packBatch, tokenLogProbs } from '../src/core/model/logprobs';
import { grpoLoss } from '../src/core/grpo/loss';
import { lossOptions } from '../src/core/grpo/update';
import { validateConfig } from '../src/core/grpo/config';
import { AdamW } from '../src/core/grpo/optimizer';
import { loadShipped } from './rl-shape';

interface Counts {
  dispatches: number;
  submits: number;
  kernels: Map<string, number>;
}

const counts: Counts = { dispatches: 0, submits: 0, kernels: new Map() };

function instrument(device: GPUDevice): void {
  const create = device.createCommandEncoder.bind(device);
  device.createCommandEncoder = (d?: GPUCommandEncoderDescriptor) => {
    const enc = create(d);
    const begin = enc.beginComputePass.bind(enc);
    enc.beginComputePass = (pd?: GPUComputePassDescriptor) => {
      const pass = begin(pd);
      const dispatch = pass.dispatchWorkgroups.bind(pass);
      pass.dispatchWorkgroups = (x: number, y?: number, z?: number) => {
        counts.dispatches++;
        dispatch(x, y, z);
      };
      return pass;
    };
    return enc;
  };
  const submit = device.queue.submit.bind(device.queue);
  device.queue.submit = (bufs: Iterable<GPUCommandBuffer>) => {
    counts.submits++;
    submit(bufs);
  };
}

async function counted(f: () => Promise<void>): Promise<{ dispatches: number; submits: number; kernels: Map<string, number> }> {
  counts.dispatches = 0;
  counts.submits = 0;
  const info = await tf.profile(f);
  const kernels = new Map<string, number>();
  for (const k of info.kernels) kernels.set(k.name, (kernels.get(k.name) ?? 0) + 1);
  return { dispatches: counts.dispatches, submits: counts.submits, kernels };
}

function top(m: Map<string, number>, scale: number, n = 12): string {
  return [...m.entries()]
    .sort((a, b) => b[1] - a[1])
    .slice(0, n)
    .map(([k, v]) => `${k} ${+(v / scale).toFixed(1)}`)
    .join(', ');
}

async function main(): Promise<void> {
  const report = await initNodeBackend('webgpu');
  if (report.name !== 'webgpu') {
    console.log(JSON.stringify({ skipped: report.fallbackReason }));
    return;
  }
  instrument((tf.backend() as unknown as { device: GPUDevice }).device);
  const model = loadShipped(resolve('public/models/tabzero-tiny'));
  const V = model.config.vocabSize;
  const prompts = Array.from({ length: 4 }, (_, i) => Array.from({ length: 12 }, (_, j) => 3 + ((i * 31 + j * 7) % (V - 3))));
  const gen = (n: number) => async () => void (await generate(model, prompts, { maxNewTokens: n, temperature: 1, seed: 1, eosTokenIds: [-1], padTokenId: 0 }));
  await gen(3)();
  const a = await counted(gen(9));
  const b = await counted(gen(17));
  const perTokenKernels = new Map<string, number>();
  for (const [k, v] of b.kernels) perTokenKernels.set(k, v - (a.kernels.get(k) ?? 0));

  const batch = packBatch(prompts, prompts.map((p) => p.slice(0, 8)), 0);
  const mask = tf.tensor2d(batch.completionMask, [batch.batch, batch.length]);
  const adv = tf.tensor1d([0.5, -0.5, 1, -1]);
  // Counted on the host, as the update does: a loss without it reads the mask back synchronously.
  const tokens = Math.max(1, batch.completionMask.reduce((a, b) => a + b, 0));
  const normalizer = { sequences: batch.batch, tokens, windowTokens: tokens, accumulation: 1 };
  const vars = new Map(model.weights);
  const opt = new AdamW(vars, { beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0.01, maxGradNorm: 1 });
  let grads: Record<string, tf.Tensor> = {};
  const fb = async () => {
    const r = tf.variableGrads(() => {
      const { logprobs, entropy } = tokenLogProbs(model, batch, 1);
      const out = grpoLoss(
        { logprobs, oldLogprobs: null, refLogprobs: null, advantages: adv, mask, entropy },
        { ...lossOptions(validateConfig({ loss_type: 'dapo', beta: 0, max_completion_length: 8 })), normalizer },
      );
      Object.values(out.metrics).forEach((m) => m.dispose());
      return out.loss;
    }, [...vars.values()]);
    await r.value.data();
    r.value.dispose();
    grads = {};
    for (const [name, v] of vars) grads[name] = r.grads[v.name]!;
  };
  await fb();
  Object.values(grads).forEach((g) => g.dispose());
  const f = await counted(fb);
  const o = await counted(async () => void (await opt.step(grads, 1e-6)));
  Object.values(grads).forEach((g) => g.dispose());
  const step = { dispatches: 4 * f.dispatches + o.dispatches, submits: 4 * f.submits + o.submits };
  console.log(JSON.stringify({
    adapter: report.adapter,
    decode_token: { dispatches: (b.dispatches - a.dispatches) / 8, submits: (b.submits - a.submits) / 8 },
    micro_batch_forward_backward: { dispatches: f.dispatches, submits: f.submits },
    adamw_step: { dispatches: o.dispatches, submits: o.submits },
    rl_update_step_4_micro_batches: step,
  }));
  console.log(`kernels per decode token: ${top(perTokenKernels, 8)}`);
  console.log(`kernels per micro-batch forward+backward: ${top(f.kernels, 1)}`);
  model.dispose();
}

void main();
