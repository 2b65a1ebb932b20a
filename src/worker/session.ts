/**
 * The training session behind the worker protocol, independent of where it runs: it owns the
 * model, the trainer, the task and the rewards, handles Commands and reports WorkerEvents through
 * a callback. The Web Worker entry (training-worker.ts) and Node tests both drive it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Command, StopReason, GrpoConfigPatch, ModelSourceSpec, RunState, TaskSpec, UserRewardSpec, WorkerEvent, BackendName, BackendReport } from './protocol';
import { ConfigError, DEFAULT_CONFIG, validateConfig, type GRPOConfig } from '../core/grpo/config';
import { GRPOTrainer, type PromptRenderer, type TextTokenizer } from '../core/grpo/trainer';
import { NonFiniteError } from '../core/grpo/optimizer';
import { exportModel, loadModel, type LoadedModel, type ModelSource } from '../core/model/load';
import { generate } from '../core/model/generate';
import { RewardError, fromRewardFn, type RewardFunction } from '../core/rewards/runner';
import { createSandboxedReward, type SandboxedRewardFunction } from '../core/rewards/sandbox';
import { builtinReward, isCorrect } from '../core/rewards/builtin';
import { createTask, type Task } from '../core/tasks/index';
import { renderPrompt, ANSWER_CLOSE } from '../core/tasks/prompt';
import { applyChatTemplate, makeCompleter } from '../core/probes/completer';
import { runProbes } from '../core/probes/run';
import { yieldToEventLoop } from './yield';
import { rolloutViews } from './rollout-views';
import { COMPLETE, type CheckpointStore } from './checkpoint-store';
import { parseSafetensors, serializeSafetensors } from '../core/model/safetensors';
import type { TrainerState } from '../core/grpo/trainer';
import { HISTORY_FILE, RunHistoryRecorder, decodeHistory } from './run-history';
import { RunMemory } from './memory-plan';
import { isBackendAbort, recreateBackend } from '../core/backend-recover';
import { longestPrompt, outOfMemoryMessage, sameRewards, StopRequested } from './session-helpers';

export interface SessionEnv {
  initBackend(preferred?: BackendName): Promise<BackendReport>;
  /** Where the embedded model is served (a URL prefix), or a local directory in Node. */
  embedded: ModelSource;
  /** Where the resumable checkpoint lives (OPFS in the browser, a directory in the CLI); none: Save is unavailable. */
  checkpoints?: CheckpointStore | null;
  /** Seconds the user-reward sandbox allows per call. */
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
interface SessionRecord {
  model: string;
  task: TaskSpec;
  builtinRewards: { name: string; weight: number }[];
  rewards: UserRewardSpec[];
  probeEvery: number;
  state: TrainerState;
  /** micro_batch_size was 0 (auto) and the memory plan chose it: a resumed run plans again. */
  microBatchAuto?: boolean;
}

const DEFAULT_BUILTINS = [
  { name: 'correctness', weight: 1 },
  { name: 'format', weight: 0.2 },
];

export class TrainingSession {
  private state: RunState = 'idle';
  private loaded: LoadedModel | null = null;
  private source: ModelSourceSpec | null = null;
  private backend: BackendReport | null = null;
  private trainer: GRPOTrainer | null = null;
  private task: Task | null = null;
  private sandboxes: SandboxedRewardFunction[] = [];
  private pendingConfig: GrpoConfigPatch = {};
  private probeEvery = 0;
  private loop: Promise<void> | null = null;
  private runRecord: Omit<SessionRecord, 'state'> | null = null;
  private busy: Promise<unknown> = Promise.resolve();
  private readonly history = new RunHistoryRecorder();
  private readonly emit: (e: WorkerEvent) => void;
  /** The step the stored checkpoint holds: a second save of the same step is skipped. */
  private savedStep: number | null = null;
  /** The backend aborted (out of memory): it and the model are re-created before the next run. */
  private broken = false;
  private readonly memory = new RunMemory();
  private rewardFns: RewardFunction[] = [];

  constructor(
    emit: (e: WorkerEvent) => void,
    private readonly env: SessionEnv,
    private readonly opts: SessionOptions = {},
  ) {
    this.emit = (e) => {
      this.history.record(e);
      emit(e);
    };
  }

  get runState(): RunState {
    return this.state;
  }

  get currentTrainer(): GRPOTrainer | null {
    return this.trainer;
  }

  private setState(state: RunState, reason?: string, stop?: StopReason): void {
    this.state = state;
    this.emit({ type: 'state', state, ...(reason ? { reason } : {}), ...(stop ? { stop } : {}) });
  }

  private fail(e: unknown, next: RunState): void {
    if (e instanceof RewardError) {
      this.emit({ type: 'error', code: 'reward', message: e.message, reward: { name: e.rewardName, ...(e.line !== undefined ? { line: e.line } : {}), ...(e.column !== undefined ? { column: e.column } : {}) } });
    } else if (e instanceof ConfigError) {
      this.emit({ type: 'error', code: 'config', message: e.message });
    } else if (e instanceof NonFiniteError) {
      this.emit({ type: 'error', code: 'non-finite', message: e.message });
    } else if (isBackendAbort(e)) {
      this.broken = true;
      const message = this.outOfMemory();
      this.emit({ type: 'error', code: 'out-of-memory', message });
      // Start again works: the backend and the model are made anew first.
      this.setState(this.loaded ? 'ready' : 'error', message, 'failed');
      return;
    } else if (e instanceof StopRequested) {
      this.setState(this.loaded ? 'ready' : 'idle', 'stopped by the user', 'stopped');
      return;
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      this.emit({ type: 'error', code: 'internal', message: err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message });
    }
    this.setState(next, e instanceof Error ? e.message : String(e), next === 'error' ? 'failed' : undefined);
  }

  /** Commands that touch the model run one after another; pause/stop only flip the state. */
  async handle(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case 'pause':
        if (this.state === 'running') {
          this.setState('paused');
          // After the step in flight: a reload right after pausing resumes from here.
          await this.loop;
          await this.queue(() => this.autoSave());
        }
        return;
      case 'resume':
        if (this.state === 'paused' && this.trainer) {
          // After a reward error the page sends the functions it has now: rebuild the changed ones.
          if (cmd.rewards || cmd.builtinRewards) {
            try {
              await this.queue(() => this.replaceRewards(cmd.builtinRewards, cmd.rewards));
            } catch (e) {
              this.fail(e, 'paused');
              return;
            }
          }
          // Paused during the base probe: Start's own flow starts the loop once the probe is done.
          if (this.probingBase) this.setState('running');
          else this.startLoop();
        }
        return;
      case 'stop':
        if (this.state === 'running' || this.state === 'paused') {
          this.setState('stopping');
          await this.loop;
          await this.queue(() => this.autoSave());
          // A stop during the base probe or a rollout has already ended the run.
          if ((this.state as RunState) === 'stopping') this.setState('ready', 'stopped by the user', 'stopped');
        }
        return;
      case 'setConfig':
        return this.setConfig(cmd.config);
      default:
        return this.queue(() => this.exclusive(cmd));
    }
  }

  /** Model-touching work runs one piece at a time, in arrival order. */
  private queue(work: () => Promise<void>): Promise<void> {
    const run = this.busy.then(work);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async exclusive(cmd: Command): Promise<void> {
    try {
      switch (cmd.type) {
        case 'load':
          return await this.load(cmd.source, cmd.backend);
        case 'start':
          return await this.start(cmd);
        case 'step':
          return await this.singleStep();
        case 'reset':
          return await this.reset();
        case 'save':
          return await this.save();
        case 'export':
          return await this.exportFiles();
        case 'evalProbes':
          return await this.evalProbes();
        default:
          return;
      }
    } catch (e) {
      this.fail(e, this.loaded ? 'ready' : 'error');
    }
  }

  private resolveSource(spec: ModelSourceSpec): ModelSource {
    switch (spec.kind) {
      case 'embedded':
        return this.env.embedded;
      case 'url':
        return { kind: 'url', baseUrl: spec.baseUrl };
      case 'hub':
        return { kind: 'hub', repo: spec.repo, ...(spec.revision ? { revision: spec.revision } : {}) };
      case 'files':
        return { kind: 'files', files: spec.files };
    }
  }

  private async load(source: ModelSourceSpec, backend?: BackendName): Promise<void> {
    this.setState('loading');
    this.disposeRun();
    this.loaded?.model.dispose();
    this.loaded = null;
    this.backend = await this.env.initBackend(backend);
    this.broken = false;
    if (this.backend.fallbackReason) this.emit({ type: 'log', level: 'warn', message: this.backend.fallbackReason });
    else if (this.backend.why) this.emit({ type: 'log', level: 'info', message: `Backend: ${this.backend.why}` });
    this.loaded = await loadModel(this.resolveSource(source), {
      trainable: true,
      onProgress: (p) => this.emit({ type: 'progress', phase: 'load', done: Math.round(p.fraction * 100), total: 100, message: p.file }),
    });
    this.source = source;
    const m = this.loaded.model;
    const resumable = (await this.storedRecord())?.model === this.loaded.label;
    this.emit({ type: 'loaded', backend: this.backend, model: { name: this.loaded.label, arch: m.config.arch, params: m.numParams, vocabSize: m.config.vocabSize }, resumable });
    this.setState('ready');
  }

  private useChat(): boolean {
    return this.loaded?.tokenizer.hasChatTemplate === true;
  }

  private textTokenizer(): TextTokenizer {
    const tok = this.loaded!.tokenizer;
    const chat = this.useChat();
    return {
      // With a chat template the special tokens come from the template itself.
      encode: (text) => tok.encode(text, { addSpecialTokens: !chat }),
      decode: (ids) => tok.decode(ids, { skipSpecialTokens: false }),
    };
  }

  private renderer(): PromptRenderer {
    const tok = this.loaded!.tokenizer;
    if (!this.useChat()) return (p, o) => renderPrompt(p, o);
    return (p, o) => applyChatTemplate(renderPrompt(p, o), (t) => tok.formatPrompt(t));
  }

  private async buildRewards(builtins: { name: string; weight: number }[], user: UserRewardSpec[]): Promise<{ fns: RewardFunction[]; weights: number[] }> {
    for (const s of this.sandboxes) s.dispose();
    this.sandboxes = [];
    const fns: RewardFunction[] = builtins.map((b) => fromRewardFn({ name: b.name, fn: builtinReward(b.name) }));
    const weights = builtins.map((b) => b.weight);
    for (const u of user) {
      const s = await createSandboxedReward({ name: u.name, source: u.source }, { timeLimitMs: this.env.rewardTimeLimitMs ?? 1000 });
      this.sandboxes.push(s);
      // Syntax errors surface now, before any rollout is spent.
      await s.start();
      fns.push(s);
      weights.push(u.weight);
    }
    if (fns.length === 0) throw new ConfigError('rewards', 'no reward function is selected; pick a built-in reward or write one');
    return { fns, weights };
  }

  private async storedRecord(): Promise<SessionRecord | null> {
    const bytes = await this.env.checkpoints?.peek(COMPLETE).catch(() => null);
    if (!bytes) return null;
    try {
      return JSON.parse(new TextDecoder().decode(bytes)) as SessionRecord;
    } catch {
      return null;
    }
  }

  private async start(cmd: Extract<Command, { type: 'start' }>): Promise<void> {
    if (!this.loaded) throw new ConfigError('model', 'load a model before starting');
    if (this.state === 'running') return;
    this.disposeRun();
    if (this.broken) await this.recover();
    let record: SessionRecord | null = null;
    let optimizer: Map<string, { shape: number[]; data: Float32Array }> | null = null;
    if (cmd.resume) {
      const files = await this.env.checkpoints?.load();
      record = files ? (JSON.parse(new TextDecoder().decode(files.get(COMPLETE)!)) as SessionRecord) : null;
      if (!files || !record || record.model !== this.loaded.label) {
        throw new ConfigError('resume', 'there is no saved run of this model to resume; press Start for a new run');
      }
      optimizer = parseSafetensors(files.get('optimizer.safetensors')!, 'optimizer.safetensors');
      this.resumeFiles = files;
      // The checkpoint's weights replace the loaded ones; the engine puts them in its own layout.
      const model = files.get('model.safetensors')!;
      const reloaded = await loadModel({ kind: 'files', files: [...this.loaded.files, ['model.safetensors', model] as const].map(([name, data]) => ({ name, data })) }, { trainable: true });
      this.loaded.model.dispose();
      this.loaded = { ...this.loaded, model: reloaded.model };
    }
    const taskSpec: TaskSpec = record?.task ?? cmd.task ?? { kind: 'toy-world' };
    this.task = createTask(taskSpec);
    const builtins = record?.builtinRewards ?? cmd.builtinRewards ?? DEFAULT_BUILTINS;
    const user = record?.rewards ?? cmd.rewards ?? [];
    const { fns, weights } = await this.buildRewards(builtins, user);
    this.rewardFns = fns;
    // Resuming keeps the saved knobs unless the command changes some (a longer max_steps, say).
    const patch: Record<string, unknown> = { ...(record ? record.state.config : { reward_weights: weights }), ...this.pendingConfig, ...(cmd.config ?? {}) };
    let config: GRPOConfig = validateConfig(patch);
    const promptLength = longestPrompt(this.task, this.renderer(), this.textTokenizer(), config.scaffold_hard_problems);
    const fitted = this.memory.fit(this.loaded.model.config, config, config.micro_batch_size === 0 || (record?.microBatchAuto ?? false), promptLength, this.backend?.name ?? 'cpu');
    config = validateConfig({ ...fitted.config });
    if (fitted.warning) this.emit({ type: 'log', level: 'warn', message: fitted.warning });
    this.emit({ type: 'memoryPlan', plan: this.memory.event });
    this.probeEvery = record?.probeEvery ?? cmd.probeEvery ?? 0;
    if (cmd.probeCount !== undefined) this.probeCount = cmd.probeCount;
    this.runRecord = { model: this.loaded.label, task: taskSpec, builtinRewards: builtins, rewards: user, probeEvery: this.probeEvery };
    const tok = this.loaded.tokenizer;
    this.trainer = new GRPOTrainer({
      policy: this.loaded.model,
      tokenizer: this.textTokenizer(),
      problems: this.task,
      renderPrompt: this.renderer(),
      rewards: fns,
      generate,
      config,
      eosTokenIds: tok.eosTokenIds,
      padTokenId: tok.padTokenId,
      stopStrings: [ANSWER_CLOSE],
      solved: (c, p) => isCorrect(c, p),
    });
    if (record && optimizer) {
      this.trainer.importState(record.state, optimizer);
      this.savedStep = record.state.step;
      // The saved run's charts, probes and log first, so the page draws them before new steps.
      this.history.reset(decodeHistory(this.resumeFiles?.get(HISTORY_FILE)));
      this.emit({ type: 'history', history: this.history.upTo(record.state.step) });
      this.emit({ type: 'resumed', step: record.state.step, config: { ...config }, probeEvery: this.probeEvery, task: taskSpec });
      this.emit({ type: 'log', level: 'info', message: `Resumed at step ${record.state.step}.` });
      this.resumeFiles = null;
      this.startLoop();
      return;
    }
    this.history.reset();
    this.savedStep = null;
    if (this.probeEvery > 0) {
      // Running already while the base model is probed: Pause and Stop work during it.
      this.setState('running');
      // The base model's scores are the reference every later probe is read against.
      this.probingBase = true;
      try {
        await this.evalProbes('base');
      } finally {
        this.probingBase = false;
      }
      const now = this.state as RunState;
      if (now !== 'running') {
        if (now === 'stopping') this.setState('ready');
        return;
      }
    }
    this.startLoop();
  }

  private resumeFiles: Map<string, Uint8Array> | null = null;
  private probingBase = false;
  private probeCount: number | null = null;

  /** The out-of-memory message, with the micro_batch_size to set. */
  private outOfMemory(): string {
    const backend = this.backend?.name ?? 'wasm';
    const r = this.memory.afterAbort(this.loaded?.model.config ?? null, this.trainer?.config ?? null, backend);
    return outOfMemoryMessage(backend, r?.[0] ?? null, r?.[1] ?? null);
  }

  /** After an abort: a fresh backend, and the model again from where it came from. */
  private async recover(): Promise<void> {
    const name = this.backend?.name ?? 'wasm';
    this.emit({ type: 'log', level: 'info', message: `Restarting the ${name} backend after it ran out of memory, and reloading the model.` });
    this.trainer = null;
    this.loaded = null;
    await recreateBackend(name);
    this.loaded = await loadModel(this.resolveSource(this.source!), {
      trainable: true,
      onProgress: (p) => this.emit({ type: 'progress', phase: 'load', done: Math.round(p.fraction * 100), total: 100, message: p.file }),
    });
    this.broken = false;
  }

  private async replaceRewards(builtins: { name: string; weight: number }[] | undefined, user: UserRewardSpec[] | undefined): Promise<void> {
    if (!this.trainer || !this.runRecord) return;
    const nextBuiltins = builtins ?? this.runRecord.builtinRewards;
    const nextUser = user ?? this.runRecord.rewards;
    if (sameRewards(this.runRecord, nextBuiltins, nextUser)) return;
    const { fns, weights } = await this.buildRewards(nextBuiltins, nextUser);
    // The trainer holds this very array: replacing its contents swaps the functions between steps.
    this.rewardFns.splice(0, this.rewardFns.length, ...fns);
    this.trainer.setConfig({ reward_weights: weights });
    this.runRecord = { ...this.runRecord, builtinRewards: nextBuiltins, rewards: nextUser };
    this.emit({ type: 'log', level: 'info', message: `Reward functions updated: ${fns.map((f) => f.name).join(', ')}.` });
  }

  private startLoop(): void {
    this.setState('running');
    if (this.loop) return;
    this.loop = this.runLoop().finally(() => {
      this.loop = null;
    });
  }

  private async runLoop(): Promise<void> {
    while (this.state === 'running' && this.trainer) {
      const ok = await this.oneStep();
      if (!ok) return;
      if (this.trainer.step >= this.trainer.config.max_steps) {
        this.emit({ type: 'log', level: 'info', message: `Reached max_steps = ${this.trainer.config.max_steps}.` });
        await this.autoSave();
        this.setState('ready', 'max_steps reached', 'max_steps');
        return;
      }
      await yieldToEventLoop();
    }
  }

  /** One step with events; false when it failed (the state says why). */
  private async oneStep(): Promise<boolean> {
    const trainer = this.trainer!;
    const every = this.opts.yieldEvery ?? 4;
    try {
      const r = await trainer.trainStep({
        onRolloutStep: async (s, total) => {
          if (s % every === 0) {
            this.emit({ type: 'progress', phase: 'rollout', done: s + 1, total });
            await yieldToEventLoop();
            // Stop mid-rollout ends the step before any update: the model stays as it was.
            if (this.state === 'stopping') throw new StopRequested();
          }
        },
        onUpdate: async (pass, total) => {
          this.emit({ type: 'progress', phase: 'update', done: pass, total });
          await yieldToEventLoop();
          if (pass === 0 && this.state === 'stopping') throw new StopRequested();
        },
      });
      this.emit({ type: 'metrics', step: r.step, metrics: r.metrics });
      this.emit({ type: 'rollouts', step: r.step, groups: rolloutViews(r, this.textTokenizer()) });
      if (this.probeEvery > 0 && r.step % this.probeEvery === 0) await this.evalProbes();
      const saveEvery = this.opts.checkpointEvery ?? 10;
      if (saveEvery > 0 && r.step % saveEvery === 0) await this.autoSave();
      return true;
    } catch (e) {
      // Reward and non-finite errors leave the model as it was: pause so the user can fix and resume.
      this.fail(e, e instanceof RewardError || e instanceof NonFiniteError ? 'paused' : 'error');
      return false;
    }
  }

  private async singleStep(): Promise<void> {
    if (!this.trainer) throw new ConfigError('step', 'start a run first (Start, then Pause, then Step)');
    if (this.state === 'running') return;
    this.setState('paused');
    await this.oneStep();
  }

  private setConfig(patch: GrpoConfigPatch): void {
    try {
      if (this.trainer) this.trainer.setConfig(patch);
      else {
        validateConfig({ ...this.pendingConfig, ...patch });
        this.pendingConfig = { ...this.pendingConfig, ...patch };
      }
      this.emit({ type: 'log', level: 'info', message: `Config updated: ${Object.keys(patch).join(', ')}` });
    } catch (e) {
      this.fail(e, this.state);
    }
  }

  private async reset(): Promise<void> {
    if (!this.source) return;
    this.disposeRun();
    // The original weights come back from the source, not from a host copy that would double memory.
    await this.load(this.source, this.backend?.name);
  }

  private async modelFiles(): Promise<Map<string, Uint8Array>> {
    if (!this.loaded) throw new ConfigError('model', 'no model is loaded');
    this.emit({ type: 'progress', phase: 'save', done: 0, total: 1 });
    const files = await exportModel(this.loaded.model, this.loaded.files);
    this.emit({ type: 'progress', phase: 'save', done: 1, total: 1 });
    return files;
  }

  private async save(): Promise<void> {
    if (!this.env.checkpoints) throw new ConfigError('save', 'checkpoints are not available here (no browser storage); use Export instead');
    if (!this.trainer || !this.runRecord) throw new ConfigError('save', 'start a run first; Export saves the weights alone');
    if (this.savedStep === this.trainer.step) {
      // Pause then Stop with no step between: the stored checkpoint already is this step.
      this.emit({ type: 'log', level: 'info', message: `Step ${this.trainer.step} is already saved.` });
      return;
    }
    const files = await this.modelFiles();
    const { state, optimizer } = await this.trainer.exportState();
    files.set('optimizer.safetensors', serializeSafetensors(optimizer));
    const record: SessionRecord = { ...this.runRecord, state, microBatchAuto: this.memory.plan?.auto ?? false };
    files.set(HISTORY_FILE, this.history.encode(state.step));
    // session.json is the completion marker: the store writes it last.
    files.set(COMPLETE, new TextEncoder().encode(JSON.stringify(record)));
    const where = await this.env.checkpoints.save(files);
    this.savedStep = state.step;
    this.emit({ type: 'checkpoint', step: state.step, where });
  }

  /** A checkpoint without failing the run: a full disk is worth a warning, not a stop. */
  private async autoSave(): Promise<void> {
    // Step 0 holds nothing a new run would not have.
    if (!this.env.checkpoints || !this.trainer || this.trainer.step === 0 || this.broken) return;
    try {
      await this.save();
    } catch (e) {
      this.emit({ type: 'log', level: 'warn', message: `Checkpoint not saved: ${(e as Error).message}` });
    }
  }

  private async exportFiles(): Promise<void> {
    const files = await this.modelFiles();
    this.emit({
      type: 'exported',
      files: [...files].map(([name, data]) => ({ name, data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer })),
    });
  }

  private async evalProbes(label?: 'base'): Promise<void> {
    if (!this.loaded) throw new ConfigError('model', 'load a model before running probes');
    const task = this.task ?? createTask({ kind: 'toy-world' });
    const problems = task.probeSet(this.opts.probeSeed ?? 1234, this.probeCount ?? this.opts.probeCount ?? 24);
    const tok = this.loaded.tokenizer;
    const complete = makeCompleter(this.loaded.model, tok, {
      generate,
      maxNewTokens: this.trainer?.config.max_completion_length ?? DEFAULT_CONFIG.max_completion_length,
      onProgress: async (done, total) => {
        this.emit(label ? { type: 'progress', phase: 'probe', done, total, message: label } : { type: 'progress', phase: 'probe', done, total });
        await yieldToEventLoop();
        // Checked between batches: Stop ends a long probe promptly.
        if (this.state === 'stopping') throw new StopRequested();
      },
    });
    const report = await runProbes(complete, problems, { step: this.trainer?.step ?? 0 });
    this.emit({ type: 'probes', report });
  }

  private disposeRun(): void {
    this.trainer?.dispose();
    this.trainer = null;
    for (const s of this.sandboxes) s.dispose();
    this.sandboxes = [];
  }

  /** Stop everything and free the model; the session can load again afterwards. */
  async dispose(): Promise<void> {
    if (this.state === 'running' || this.state === 'paused') this.setState('stopping');
    await this.loop;
    this.disposeRun();
    this.loaded?.model.dispose();
    this.loaded = null;
    this.state = 'idle';
  }

  /** For tests: tensors the session holds should not grow step over step. */
  static numTensors(): number {
    return tf.memory().numTensors;
  }
}
