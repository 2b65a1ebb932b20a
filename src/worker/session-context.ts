/**
 * What one training session holds between commands (the model, the run, the state), shared by the
 * pieces that handle the commands; events go out through `emit`, which also keeps the run history.
 */
import type { BackendName, BackendReport, GrpoConfigPatch, ModelSourceSpec, ProbeMode, RunState, StopReason, TaskSpec, UserRewardSpec, WorkerEvent } from './protocol';
import type { GRPOTrainer, TrainerState } from '../core/grpo/trainer';
import type { LoadedModel, ModelSource } from '../core/model/load';
import type { Task } from '../core/tasks/index';
import type { CheckpointStore } from './checkpoint-store';
import type { ExperimentStore, StoredExperiment } from './experiment-store';
import { RunHistoryRecorder } from './run-history';
import { RunMemory } from './memory-plan';
import { SessionRewards } from './session-rewards';

export interface SessionEnv {
  initBackend(preferred?: BackendName): Promise<BackendReport>;
  /** Where the embedded model is served (a URL prefix), or a local directory in Node. */
  embedded: ModelSource;
  /** Where the resumable checkpoint lives (OPFS in the browser, a directory in the CLI); none: Save is unavailable. */
  checkpoints?: CheckpointStore | null;
  /** Where experiments are kept (OPFS in the browser); none: they live as long as the page. */
  experiments?: ExperimentStore | null;
  /** Milliseconds the user-reward sandbox allows per call (default 1000). */
  rewardTimeLimitMs?: number;
}

export interface SessionOptions {
  /** Held-out probe problems per evaluation. */
  probeCount?: number;
  probeSeed?: number;
  /** Decoding steps between yields to the event loop during a rollout. */
  yieldEvery?: number;
  /** Save a checkpoint every this many steps (and on pause and stop); 0 = only on Save. */
  checkpointEvery?: number;
}

/** What session.json records so that a resumed run trains the same way. */
export interface SessionRecord {
  model: string;
  task: TaskSpec;
  builtinRewards: { name: string; weight: number }[];
  rewards: UserRewardSpec[];
  probeEvery: number;
  /** Held-out problems per probe; absent in checkpoints written before it was recorded. */
  probeCount?: number;
  /** How the live probes measure; absent (greedy) in checkpoints written before it was recorded. */
  probeMode?: ProbeMode;
  state: TrainerState;
  /** micro_batch_size was 0 (auto) and the memory plan chose it: a resumed run plans again. */
  microBatchAuto?: boolean;
}

export class SessionContext {
  state: RunState = 'idle';
  loaded: LoadedModel | null = null;
  source: ModelSourceSpec | null = null;
  backend: BackendReport | null = null;
  trainer: GRPOTrainer | null = null;
  task: Task | null = null;
  pendingConfig: GrpoConfigPatch = {};
  probeEvery = 0;
  loop: Promise<void> | null = null;
  runRecord: Omit<SessionRecord, 'state'> | null = null;
  /** The step the stored checkpoint holds: a second save of the same step is skipped. */
  savedStep: number | null = null;
  /** The backend aborted (out of memory): it and the model are re-created before the next run. */
  broken = false;
  resumeFiles: Map<string, Uint8Array> | null = null;
  probingBase = false;
  probeCount: number | null = null;
  probeMode: ProbeMode = 'greedy';
  /** The experiment in progress: its id, and whether Stop was asked for. */
  experiment: { id: string; name: string; stop: boolean } | null = null;
  /**
   * Whether the loaded model's weights may differ from its source's: set when a training step
   * begins or a checkpoint is restored, cleared when the model is loaded anew. An experiment starts
   * from the source's weights, so it reloads them when this is set.
   */
  weightsChanged = false;
  /**
   * This session's experiments as last reported: all of them where there is no store, the newest
   * copy of each where there is one (so a list asked for while the store writes is current).
   */
  readonly experimentCopies = new Map<string, StoredExperiment>();
  readonly memory = new RunMemory();
  readonly rewards = new SessionRewards();
  readonly history = new RunHistoryRecorder();
  readonly emit: (e: WorkerEvent) => void;

  constructor(
    emit: (e: WorkerEvent) => void,
    readonly env: SessionEnv,
    readonly opts: SessionOptions,
  ) {
    this.emit = (e) => {
      this.history.record(e);
      emit(e);
    };
  }

  setState(state: RunState, reason?: string, stop?: StopReason): void {
    this.state = state;
    this.emit({ type: 'state', state, ...(reason ? { reason } : {}), ...(stop ? { stop } : {}) });
  }

  /** The run's trainer and its reward sandboxes go; the model stays. */
  disposeRun(): void {
    this.trainer?.dispose();
    this.trainer = null;
    this.rewards.disposeSandboxes();
  }
}
