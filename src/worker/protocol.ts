/**
 * The typed protocol between the page and the training worker. The UI never touches tensors:
 * everything it shows arrives as one of these events, everything it asks for is one of these commands.
 */
import type { Problem } from '../core/types';
import type { ExperimentName, ExperimentSize } from '../core/experiments/recipes';
import type { ExperimentPhase, ExperimentResult } from '../core/experiments/runner';
import type { ExperimentTable } from '../core/experiments/table';
import type { BackendName, BackendReport, BackendTiming, ErrorCode, ProbeReport, ProbeScore, StopReason, TaskSpec } from '../core/domain';

export type { BackendName, BackendReport, BackendTiming, ErrorCode, ProbeReport, ProbeScore, StopReason, TaskSpec };
export type { ExperimentName, ExperimentPhase, ExperimentResult, ExperimentSize, ExperimentTable };

/** How the session's live probes measure: one greedy completion, or the paper's Avg@k (k = 8 at T = 0.6). */
export type ProbeMode = 'greedy' | 'avg@k';

/** An experiment as the page lists it: the result so far, with its table, plot and markdown. */
export interface ExperimentRecord {
  /** Unique per run: the recipe and the time it started. */
  id: string;
  /**
   * running: in progress in this session; complete: every arm and seed finished; stopped: the user
   * stopped it; failed: an error ended it (`error` says which). Stopped and failed keep their finished arms.
   */
  status: 'running' | 'complete' | 'stopped' | 'failed';
  error?: string;
  result: ExperimentResult;
  table: ExperimentTable;
  /** The plot (plot.svg) and the table as markdown (table.md), as the CLI writes them. */
  svg: string;
  markdown: string;
}


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
  /** probeMode: how the live probes measure (default greedy). */
  | { type: 'start'; probeMode?: ProbeMode; config?: GrpoConfigPatch; task?: TaskSpec; rewards?: UserRewardSpec[]; builtinRewards?: { name: string; weight: number }[]; probeEvery?: number; probeCount?: number; resume?: boolean }
  | { type: 'pause' }
  /** Rewards the page has now (after a reward error the user may have fixed one): the session rebuilds any that changed. */
  | { type: 'resume'; rewards?: UserRewardSpec[]; builtinRewards?: { name: string; weight: number }[] }
  | { type: 'step' }
  | { type: 'stop' }
  | { type: 'reset' }
  | { type: 'save' }
  | { type: 'export' }
  | { type: 'evalProbes' }
  | { type: 'setConfig'; config: GrpoConfigPatch }
  /**
   * Run a named recipe on the loaded model's weights as loaded (not a training run's changes), on
   * the current backend. Refused while a training run is running, paused or stopping: stop it first.
   * grpo: settings over the recipe's (tests make runs tiny with it); task: the problems (default toy-world).
   */
  | {
      type: 'experimentStart';
      name: ExperimentName;
      size: ExperimentSize;
      task?: TaskSpec;
      grpo?: GrpoConfigPatch;
      /**
       * Continue a stopped or failed experiment under its id: its finished (arm, seed) runs are
       * kept and only the rest run. Name, size, task and grpo must be its own (its settings say them).
       */
      continueId?: string;
    }
  /** Ends the running experiment at the next chunk of work; finished arms are kept and stored. */
  | { type: 'experimentStop' }
  /** Sends `experiments` with every stored experiment (on page load). */
  | { type: 'experimentList' }
  | { type: 'experimentDelete'; id: string };



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
  | { type: 'resumed'; step: number; config: GrpoConfigPatch; probeEvery: number; task: TaskSpec; probeMode?: ProbeMode }
  /** Sent on resume, before any new metrics: the saved run's charts, probes (the base probe first) and log. */
  | { type: 'history'; history: RunHistory }
  /** Sent when a run starts: the memory estimate and the micro-batch the run uses. */
  | { type: 'memoryPlan'; plan: MemoryPlan }
  | { type: 'exported'; files: { name: string; data: ArrayBuffer }[] }
  | { type: 'log'; level: 'info' | 'warn'; message: string }
  /** The stored experiments, newest first (answer to experimentList, and after a delete). */
  | { type: 'experiments'; records: ExperimentRecord[] }
  /** One experiment changed: started, an arm finished (partial result), or it ended (status says how). */
  | { type: 'experiment'; record: ExperimentRecord }
  /** Where the running experiment is; sent between chunks of work, at most a few times a second. */
  | { type: 'experimentProgress'; id: string; phase: ExperimentPhase }
  | { type: 'error'; code: ErrorCode; message: string; /** For user reward errors: which function and where. */ reward?: { name: string; line?: number; column?: number } };

export type { Problem };
