/**
 * The training session behind the worker protocol, independent of where it runs: it owns the
 * model, the trainer, the task and the rewards, handles Commands and reports WorkerEvents through
 * a callback. The Web Worker entry (training-worker.ts) and Node tests both drive it.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Command, GrpoConfigPatch, ModelSourceSpec, RunState, TaskSpec, UserRewardSpec, WorkerEvent, BackendName, BackendReport } from './protocol';
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

export interface SessionEnv {
  initBackend(preferred?: BackendName): Promise<BackendReport>;
  /** Where the embedded model is served (a URL prefix), or a local directory in Node. */
  embedded: ModelSource;
  /** Persist a checkpoint (OPFS/IndexedDB in the browser, files in Node); returns where, in words. */
  saveCheckpoint?(files: Map<string, Uint8Array>, step: number): Promise<string>;
  /** Seconds the user-reward sandbox allows per call. */
  rewardTimeLimitMs?: number;
}

export interface SessionOptions {
  /** Held-out probe problems per evaluation. */
  probeCount?: number;
  probeSeed?: number;
  /** Decoding steps between yields to the event loop during a rollout. */
  yieldEvery?: number;
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
  private busy: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly emit: (e: WorkerEvent) => void,
    private readonly env: SessionEnv,
    private readonly opts: SessionOptions = {},
  ) {}

  get runState(): RunState {
    return this.state;
  }

  get currentTrainer(): GRPOTrainer | null {
    return this.trainer;
  }

  private setState(state: RunState, reason?: string): void {
    this.state = state;
    this.emit(reason ? { type: 'state', state, reason } : { type: 'state', state });
  }

  private fail(e: unknown, next: RunState): void {
    if (e instanceof RewardError) {
      this.emit({ type: 'error', code: 'reward', message: e.message, reward: { name: e.rewardName, ...(e.line !== undefined ? { line: e.line } : {}), ...(e.column !== undefined ? { column: e.column } : {}) } });
    } else if (e instanceof ConfigError) {
      this.emit({ type: 'error', code: 'config', message: e.message });
    } else if (e instanceof NonFiniteError) {
      this.emit({ type: 'error', code: 'non-finite', message: e.message });
    } else {
      const err = e instanceof Error ? e : new Error(String(e));
      this.emit({ type: 'error', code: err.name || 'error', message: err.message });
    }
    this.setState(next, e instanceof Error ? e.message : String(e));
  }

  /** Commands that touch the model run one after another; pause/stop only flip the state. */
  async handle(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case 'pause':
        if (this.state === 'running') this.setState('paused');
        return;
      case 'resume':
        if (this.state === 'paused' && this.trainer) this.startLoop();
        return;
      case 'stop':
        if (this.state === 'running' || this.state === 'paused') {
          this.setState('stopping');
          await this.loop;
          this.setState('ready');
        }
        return;
      case 'setConfig':
        return this.setConfig(cmd.config);
      default: {
        const run = this.busy.then(() => this.exclusive(cmd));
        this.busy = run.catch(() => undefined);
        return run;
      }
    }
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
    if (this.backend.fallbackReason) this.emit({ type: 'log', level: 'warn', message: this.backend.fallbackReason });
    this.loaded = await loadModel(this.resolveSource(source), {
      trainable: true,
      onProgress: (p) => this.emit({ type: 'progress', phase: 'load', done: Math.round(p.fraction * 100), total: 100, message: p.file }),
    });
    this.source = source;
    const m = this.loaded.model;
    this.emit({ type: 'loaded', backend: this.backend, model: { name: this.loaded.label, arch: m.config.arch, params: m.numParams, vocabSize: m.config.vocabSize }, resumable: false });
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

  private async start(cmd: Extract<Command, { type: 'start' }>): Promise<void> {
    if (!this.loaded) throw new ConfigError('model', 'load a model before starting');
    if (this.state === 'running') return;
    if (cmd.resume) this.emit({ type: 'log', level: 'warn', message: 'Resuming from a checkpoint is not supported yet; starting from the loaded weights.' });
    this.disposeRun();
    const taskSpec: TaskSpec = cmd.task ?? { kind: 'toy-world' };
    this.task = createTask(taskSpec);
    const { fns, weights } = await this.buildRewards(cmd.builtinRewards ?? DEFAULT_BUILTINS, cmd.rewards ?? []);
    const patch: Record<string, unknown> = { ...this.pendingConfig, ...(cmd.config ?? {}), reward_weights: weights };
    const config: GRPOConfig = validateConfig(patch);
    this.probeEvery = cmd.probeEvery ?? 0;
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
    this.startLoop();
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
        this.setState('ready', 'max_steps reached');
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
          }
        },
        onUpdate: async (pass, total) => {
          this.emit({ type: 'progress', phase: 'update', done: pass, total });
          await yieldToEventLoop();
        },
      });
      this.emit({ type: 'metrics', step: r.step, metrics: r.metrics });
      this.emit({ type: 'rollouts', step: r.step, groups: r.groups });
      if (this.probeEvery > 0 && r.step % this.probeEvery === 0) await this.evalProbes();
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
    if (!this.env.saveCheckpoint) throw new ConfigError('save', 'checkpoints are not available here; use Export instead');
    const step = this.trainer?.step ?? 0;
    const where = await this.env.saveCheckpoint(await this.modelFiles(), step);
    this.emit({ type: 'checkpoint', step, where });
  }

  private async exportFiles(): Promise<void> {
    const files = await this.modelFiles();
    this.emit({
      type: 'exported',
      files: [...files].map(([name, data]) => ({ name, data: data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer })),
    });
  }

  private async evalProbes(): Promise<void> {
    if (!this.loaded) throw new ConfigError('model', 'load a model before running probes');
    const task = this.task ?? createTask({ kind: 'toy-world' });
    const problems = task.probeSet(this.opts.probeSeed ?? 1234, this.opts.probeCount ?? 24);
    const tok = this.loaded.tokenizer;
    const complete = makeCompleter(this.loaded.model, tok, {
      generate,
      maxNewTokens: this.trainer?.config.max_completion_length ?? DEFAULT_CONFIG.max_completion_length,
      onProgress: async (done, total) => {
        this.emit({ type: 'progress', phase: 'probe', done, total });
        await yieldToEventLoop();
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
