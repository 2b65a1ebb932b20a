/**
 * The typed protocol between the page and the training worker. The UI never touches tensors:
 * everything it shows arrives as one of these events, everything it asks for is one of these commands.
 */
import type { Problem } from '../core/types';

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

export type ModelSourceSpec =
  | { kind: 'embedded' }
  | { kind: 'url'; baseUrl: string }
  | { kind: 'hub'; repo: string; revision?: string }
  /** Files picked or dropped by the user (a Hub-layout folder), transferred as buffers. */
  | { kind: 'files'; files: { name: string; data: ArrayBuffer }[] };

export type TaskSpec =
  | { kind: 'toy-world'; difficulty?: number }
  | { kind: 'countdown' }
  | { kind: 'jsonl'; name: string; text: string };

export interface UserRewardSpec {
  name: string;
  /** JavaScript source of `(completion, problem) => number`. */
  source: string;
  weight: number;
}

/** GRPO knobs under TRL's names (the worker validates them; see src/core/grpo/config.ts). */
export type GrpoConfigPatch = Record<string, number | string | boolean | number[] | null>;

export type Command =
  | { type: 'load'; source: ModelSourceSpec; backend?: BackendName }
  | { type: 'start'; config?: GrpoConfigPatch; task?: TaskSpec; rewards?: UserRewardSpec[]; builtinRewards?: { name: string; weight: number }[]; probeEvery?: number; resume?: boolean }
  | { type: 'pause' }
  /** Rewards the page has now (after a reward error the user may have fixed one): the session rebuilds any that changed. */
  | { type: 'resume'; rewards?: UserRewardSpec[]; builtinRewards?: { name: string; weight: number }[] }
  | { type: 'step' }
  | { type: 'stop' }
  | { type: 'reset' }
  | { type: 'save' }
  | { type: 'export' }
  | { type: 'evalProbes' }
  | { type: 'setConfig'; config: GrpoConfigPatch };

export interface BackendTiming {
  name: BackendName;
  /** Milliseconds for the timed probe workload (a matmul and a tiny forward); null when it could not run. */
  ms: number | null;
  /** Why it could not run, when it could not. */
  error?: string;
}

export interface BackendReport {
  name: BackendName;
  /** Adapter vendor/architecture/description in words; null where there is no adapter. */
  adapter: string | null;
  /** Why a preferred backend was not used, in words a user can act on. */
  fallbackReason: string | null;
  /** True when the WebGPU adapter is a software renderer (SwiftShader, llvmpipe, ...). */
  softwareAdapter?: boolean;
  /** The measurement the choice was made on, one entry per backend tried. */
  timings?: BackendTiming[];
  /** One line saying why this backend was chosen ("WebGPU adapter is a software renderer (SwiftShader): wasm is 20× faster here"). */
  why?: string;
}

/** A step's estimated peak memory, and the micro-batch chosen so that it fits the backend. */
export interface MemoryPlan {
  /** The micro_batch_size the run uses (the user's, or the one chosen automatically when theirs was 0). */
  microBatchSize: number;
  /** True when microBatchSize was chosen automatically. */
  auto: boolean;
  /** Estimated peak bytes of one update with that micro-batch. */
  estimatedBytes: number;
  /** The limit it was fitted under (the wasm heap, or the GPU's buffer limits). */
  limitBytes: number;
}

/** What the page needs to redraw a resumed run as it was: stored with every checkpoint. */
export interface RunHistory {
  metrics: { step: number; metrics: Record<string, number> }[];
  probes: ProbeReport[];
  log: { time: number; level: 'info' | 'warn' | 'error'; message: string }[];
}

export interface RolloutView {
  problemId: string;
  prompt: string;
  completions: {
    text: string;
    /** Decoded token pieces, for per-token tinting. */
    tokens: string[];
    reward: number;
    rewards: Record<string, number | null>;
    advantage: number;
    finish: 'eos' | 'stop' | 'length';
  }[];
}

export interface ProbeScore {
  acc: number;
  lo: number;
  hi: number;
  n: number;
}

export interface ProbeReport {
  step: number;
  plain: ProbeScore;
  plan: ProbeScore;
  knowledge: ProbeScore;
  subproblems: ProbeScore;
  planEffect: number;
  knowledgeEffect: number;
  passAtK?: { k: number; value: number };
  /**
   * How the figures were measured: 'greedy' (one greedy completion per prompt) or 'avg@k' (k
   * samples per prompt at `temperature`, the paper's Avg@k). Absent in reports from before the field.
   */
  mode?: 'greedy' | 'avg@k';
  /** Samples per prompt (1 when greedy). */
  samples?: number;
  temperature?: number;
  /** 95% intervals of the paired effects (problems as the unit). */
  planEffectCI?: { lo: number; hi: number };
  knowledgeEffectCI?: { lo: number; hi: number };
}

export type RunState = 'idle' | 'loading' | 'ready' | 'running' | 'paused' | 'stopping' | 'error';

export type WorkerEvent =
  /** phase 'probe' with message 'base' while the base model is probed before the first step. */
  | { type: 'progress'; phase: 'load' | 'rollout' | 'update' | 'probe' | 'save'; done: number; total: number; message?: string }
  | { type: 'loaded'; backend: BackendReport; model: { name: string; arch: string; params: number; vocabSize: number }; resumable: boolean }
  | { type: 'state'; state: RunState; reason?: string }
  | { type: 'metrics'; step: number; metrics: Record<string, number> }
  | { type: 'rollouts'; step: number; groups: RolloutView[] }
  | { type: 'probes'; report: ProbeReport }
  | { type: 'checkpoint'; step: number; where: string }
  /** A saved run was resumed: the settings it continues with (its own, plus any the command changed). */
  | { type: 'resumed'; step: number; config: GrpoConfigPatch; probeEvery: number; task: TaskSpec }
  /** Sent on resume, before any new metrics: the saved run's charts, probes (the base probe first) and log. */
  | { type: 'history'; history: RunHistory }
  /** Sent when a run starts: the memory estimate and the micro-batch the run uses. */
  | { type: 'memoryPlan'; plan: MemoryPlan }
  | { type: 'exported'; files: { name: string; data: ArrayBuffer }[] }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'error'; code: string; message: string; /** For user reward errors: which function and where. */ reward?: { name: string; line?: number; column?: number } };

export type { Problem };
