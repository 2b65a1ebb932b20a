/**
 * The typed protocol between the page and the training worker. The UI never touches tensors:
 * everything it shows arrives as one of these events, everything it asks for is one of these commands.
 */
import type { Problem } from '../core/types';
import type { BackendName, BackendReport, BackendTiming, ErrorCode, ProbeReport, ProbeScore, StopReason, TaskSpec } from '../core/domain';

export type { BackendName, BackendReport, BackendTiming, ErrorCode, ProbeReport, ProbeScore, StopReason, TaskSpec };


export type ModelSourceSpec =
  | { kind: 'embedded' }
  | { kind: 'url'; baseUrl: string }
  | { kind: 'hub'; repo: string; revision?: string }
  /** Files picked or dropped by the user (a Hub-layout folder), transferred as buffers. */
  | { kind: 'files'; files: { name: string; data: ArrayBuffer }[] };


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
  /** probeCount: held-out problems per probe (default: the worker's, 64). */
  | { type: 'start'; config?: GrpoConfigPatch; task?: TaskSpec; rewards?: UserRewardSpec[]; builtinRewards?: { name: string; weight: number }[]; probeEvery?: number; probeCount?: number; resume?: boolean }
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
  /** 0 = plain prompt; 1..4 = scaffolded with that many chunks of the reference solution. */
  scaffoldLevel?: number;
  /** False for a group dynamic sampling set aside (zero reward variance): shown, not trained on. */
  trained?: boolean;
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



export type RunState = 'idle' | 'loading' | 'ready' | 'running' | 'paused' | 'stopping' | 'error';

export type WorkerEvent =
  /** phase 'probe' with message 'base' while the base model is probed before the first step. */
  | { type: 'progress'; phase: 'load' | 'rollout' | 'update' | 'probe' | 'save'; done: number; total: number; message?: string }
  | { type: 'loaded'; backend: BackendReport; model: { name: string; arch: string; params: number; vocabSize: number }; resumable: boolean }
  /** reason: in words; stop: the same as a code, where the run ended for one of StopReason's reasons. */
  | { type: 'state'; state: RunState; reason?: string; stop?: StopReason }
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
  | { type: 'error'; code: ErrorCode; message: string; /** For user reward errors: which function and where. */ reward?: { name: string; line?: number; column?: number } };

export type { Problem };
