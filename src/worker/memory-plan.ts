/**
 * The memory plan of a run, made at Start: the update's estimated peak for the batch and lengths
 * the run will have, fitted under the backend's limit by choosing micro_batch_size when the user
 * left it at 0 (auto). The run uses the plan's micro-batch.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { BackendName, MemoryPlan } from './protocol';
import type { GRPOConfig } from '../core/grpo/config';
import type { ModelConfig } from '../core/model/types';
import { chooseMicroBatch, estimateUpdateBytes, largestTensorBytes } from '../core/grpo/memory-estimate';
import { wasmFusedAvailable } from '../core/kernels/wasm-fused';

const GiB = 2 ** 30;

/**
 * The wasm module's heap stops at 4 GiB (measured in Node: tensors totalling 4096 MiB, then
 * "Aborted()"; bench/wasm-heap.ts). Half of it is the budget: the allocator fragments, and the
 * rollout's and probes' tensors come and go beside the update's.
 */
export const WASM_BUDGET_BYTES = 2 * GiB;
/** GPU memory is not queryable; 2 GiB fits integrated GPUs that share memory with a browser. */
export const WEBGPU_BUDGET_BYTES = 2 * GiB;

export interface BackendLimit {
  totalBytes: number;
  /** The largest single tensor the backend can hold (WebGPU's storage-buffer binding limit). */
  maxTensorBytes: number;
  /** The backend's log-prob head keeps only the logits and three numbers a row (wasm: kernels/wasm-fused.ts). */
  compactHead?: boolean;
}

export function backendLimit(name: BackendName): BackendLimit {
  if (name === 'webgpu') {
    const device = (tf.backend() as unknown as { device?: { limits?: { maxStorageBufferBindingSize?: number; maxBufferSize?: number } } }).device;
    const l = device?.limits;
    const maxTensor = Math.min(l?.maxStorageBufferBindingSize ?? 128 * 2 ** 20, l?.maxBufferSize ?? Infinity);
    return { totalBytes: WEBGPU_BUDGET_BYTES, maxTensorBytes: maxTensor };
  }
  return { totalBytes: WASM_BUDGET_BYTES, maxTensorBytes: WASM_BUDGET_BYTES, compactHead: name === 'wasm' && wasmFusedAvailable() };
}

export function planMemory(model: ModelConfig, cfg: GRPOConfig, promptLength: number, limit: BackendLimit): MemoryPlan & { fits: boolean } {
  const shape = {
    rows: cfg.prompts_per_step * cfg.num_generations,
    promptLength,
    completionLength: cfg.max_completion_length,
    beta: cfg.beta,
    numIterations: cfg.num_iterations,
    compactHead: limit.compactHead ?? false,
  };
  const fitsTensor = (m: number) => largestTensorBytes(model, { ...shape, microBatch: m }) <= limit.maxTensorBytes;
  if (cfg.micro_batch_size > 0) {
    const m = Math.min(cfg.micro_batch_size, shape.rows);
    const est = estimateUpdateBytes(model, { ...shape, microBatch: m }).totalBytes;
    return { microBatchSize: m, auto: false, estimatedBytes: est, limitBytes: limit.totalBytes, fits: est <= limit.totalBytes && fitsTensor(m) };
  }
  let plan = chooseMicroBatch(model, shape, limit.totalBytes);
  let m = plan.microBatch;
  while (m > 1 && !fitsTensor(m)) m = Math.floor(m / 2);
  if (m !== plan.microBatch) plan = { microBatch: m, estimatedBytes: estimateUpdateBytes(model, { ...shape, microBatch: m }).totalBytes, fits: plan.fits };
  return { microBatchSize: plan.microBatch, auto: true, estimatedBytes: plan.estimatedBytes, limitBytes: limit.totalBytes, fits: plan.fits && fitsTensor(plan.microBatch) };
}

/** The micro-batch to suggest after an out-of-memory abort at `used`: what fits, and at most half of what failed. */
export function microBatchAfterAbort(model: ModelConfig, cfg: GRPOConfig, promptLength: number, limit: BackendLimit, used: number): number {
  const planned = planMemory(model, { ...cfg, micro_batch_size: 0 }, promptLength, limit).microBatchSize;
  return Math.max(1, Math.min(planned, Math.floor(used / 2)));
}

/** A run's memory plan and what an out-of-memory message needs of it, kept between Start and an abort. */
export class RunMemory {
  promptLength = 0;
  plan: (MemoryPlan & { fits: boolean }) | null = null;
  config: GRPOConfig | null = null;

  /** The config the run uses (micro_batch_size chosen when auto), and a warning when even that does not fit. */
  fit(model: ModelConfig, config: GRPOConfig, auto: boolean, promptLength: number, backend: BackendName): { config: GRPOConfig; warning: string | null } {
    this.promptLength = promptLength;
    const limit = backendLimit(backend);
    const plan = planMemory(model, auto ? { ...config, micro_batch_size: 0 } : config, promptLength, limit);
    this.plan = plan;
    let warning: string | null = null;
    if (!plan.fits) {
      const m = microBatchAfterAbort(model, config, promptLength, limit, plan.microBatchSize * 2);
      warning = `This step needs about ${Math.round(plan.estimatedBytes / 2 ** 20)} MB, more than the ${Math.round(plan.limitBytes / 2 ** 20)} MB ${backend} allows: set micro_batch_size to ${m}, or lower prompts_per_step × num_generations or max_completion_length.`;
    }
    this.config = { ...config, micro_batch_size: plan.microBatchSize };
    return { config: this.config, warning };
  }

  /** The plan as the protocol sends it. */
  get event(): MemoryPlan {
    const { fits: _fits, ...plan } = this.plan!;
    return plan;
  }

  /** [completions per backward pass when it failed, the micro_batch_size to set], or null when no run was planned. */
  afterAbort(model: ModelConfig | null, current: GRPOConfig | null, backend: BackendName): [number, number] | null {
    const cfg = current ?? this.config;
    if (!cfg || !model) return null;
    const used = cfg.micro_batch_size > 0 ? cfg.micro_batch_size : cfg.prompts_per_step * cfg.num_generations;
    return [used, microBatchAfterAbort(model, cfg, this.promptLength, backendLimit(backend), used)];
  }
}
