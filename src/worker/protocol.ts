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
  | { type: 'resume' }
  | { type: 'step' }
  | { type: 'stop' }
  | { type: 'reset' }
  | { type: 'save' }
  | { type: 'export' }
  | { type: 'evalProbes' }
  | { type: 'setConfig'; config: GrpoConfigPatch };

export interface BackendReport {
  name: BackendName;
  /** Adapter vendor/architecture/description in words; null where there is no adapter. */
  adapter: string | null;
  /** Why a preferred backend was not used, in words a user can act on. */
  fallbackReason: string | null;
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
}

export type RunState = 'idle' | 'loading' | 'ready' | 'running' | 'paused' | 'stopping' | 'error';

export type WorkerEvent =
  | { type: 'progress'; phase: 'load' | 'rollout' | 'update' | 'probe' | 'save'; done: number; total: number; message?: string }
  | { type: 'loaded'; backend: BackendReport; model: { name: string; arch: string; params: number; vocabSize: number }; resumable: boolean }
  | { type: 'state'; state: RunState; reason?: string }
  | { type: 'metrics'; step: number; metrics: Record<string, number> }
  | { type: 'rollouts'; step: number; groups: RolloutView[] }
  | { type: 'probes'; report: ProbeReport }
  | { type: 'checkpoint'; step: number; where: string }
  /** A saved run was resumed: the settings it continues with (its own, plus any the command changed). */
  | { type: 'resumed'; step: number; config: GrpoConfigPatch; probeEvery: number; task: TaskSpec }
  | { type: 'exported'; files: { name: string; data: ArrayBuffer }[] }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  | { type: 'error'; code: string; message: string; /** For user reward errors: which function and where. */ reward?: { name: string; line?: number; column?: number } };

export type { Problem };
