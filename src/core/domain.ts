/**
 * Domain types that core produces and the worker protocol carries: which backend runs, what a
 * task is, what a probe reports, and the codes an error or the end of a run is reported with.
 * src/worker/protocol.ts re-exports them under the same names; core never imports the protocol.
 */

export type BackendName = 'webgpu' | 'wasm' | 'cpu';

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
  /** On wasm: the threads its kernels run on (1 for the single-threaded build). */
  wasmThreads?: number;
  /** On wasm: this project's own kernels that run ('products', 'fused chains'; src/core/kernels/). */
  wasmKernels?: string[];
  /** The measurement the choice was made on, one entry per backend tried. */
  timings?: BackendTiming[];
  /** One line saying why this backend was chosen ("WebGPU adapter is a software renderer (SwiftShader): wasm is 20× faster here"). */
  why?: string;
}

export type TaskSpec =
  | { kind: 'toy-world'; difficulty?: number }
  | { kind: 'countdown' }
  | { kind: 'jsonl'; name: string; text: string };

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

/** What an error event is about; the UI and CLI branch on these, never on message words. */
export type ErrorCode =
  /** A reward function threw, timed out, returned a non-number, or failed to parse (the event names it). */
  | 'reward'
  | 'reward-syntax'
  | 'reward-timeout'
  /** A setting is out of range or inconsistent (the message names it). */
  | 'config'
  /** The loss or a gradient was NaN or infinite; the step was skipped. */
  | 'non-finite'
  /** The backend ran out of memory. */
  | 'out-of-memory'
  /** The tfjs backend or the WebGPU adapter failed. */
  | 'backend'
  /** The model files could not be loaded. */
  | 'model'
  /** A command needs a loaded model. */
  | 'not-loaded'
  | 'worker-crashed'
  /** A run's output (metrics, checkpoint) could not be written: a full disk, a read-only folder. */
  | 'write'
  /** The command waits on work that holds the model (an experiment, or a training run for an experiment); the message says which. */
  | 'busy'
  | 'internal';

/** Why a run ended, carried by the state event beside its words: it reached max_steps, the user stopped it, or an error ended it. */
export type StopReason = 'max_steps' | 'stopped' | 'failed';
