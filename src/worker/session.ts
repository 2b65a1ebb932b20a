/**
 * The training session behind the worker protocol, independent of where it runs: it owns the
 * model, the trainer, the task and the rewards, handles Commands and reports WorkerEvents through
 * a callback. The Web Worker entry (training-worker.ts) and Node tests both drive it. This file is
 * the command dispatch and run-state machine; the work itself lives in the session-*.ts pieces.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Command, GrpoConfigPatch, RunState, WorkerEvent } from './protocol';
import { validateConfig } from '../core/grpo/config';
import type { GRPOTrainer } from '../core/grpo/trainer';
import { SessionContext, type SessionEnv, type SessionOptions } from './session-context';
import { fail } from './session-fail';
import { load } from './session-model';
import { replaceRewards } from './session-rewards';
import { start } from './session-start';
import { singleStep, startLoop } from './session-loop';
import { autoSave, exportFiles, save } from './session-checkpoint';
import { evalProbes } from './session-probes';
import { deleteExperiment, listExperiments, refusal, runExperimentCommand } from './session-experiment';

export type { SessionEnv, SessionOptions } from './session-context';

export class TrainingSession {
  private readonly ctx: SessionContext;
  private busy: Promise<unknown> = Promise.resolve();

  constructor(emit: (e: WorkerEvent) => void, env: SessionEnv, opts: SessionOptions = {}) {
    this.ctx = new SessionContext(emit, env, opts);
  }

  get runState(): RunState {
    return this.ctx.state;
  }

  get currentTrainer(): GRPOTrainer | null {
    return this.ctx.trainer;
  }

  /** Commands that touch the model run one after another; pause/stop only flip the state. */
  async handle(cmd: Command): Promise<void> {
    switch (cmd.type) {
      case 'pause':
        return this.pause();
      case 'resume':
        return this.resume(cmd);
      case 'stop':
        return this.stop();
      case 'setConfig':
        return this.setConfig(cmd.config);
      case 'experimentStart':
        return this.startExperiment(cmd);
      case 'experimentStop':
        if (this.ctx.experiment) this.ctx.experiment.stop = true;
        return;
      case 'experimentList':
        return listExperiments(this.ctx);
      case 'experimentDelete':
        return deleteExperiment(this.ctx, cmd.id);
      default:
        // An experiment holds the queue for minutes: say so now instead of answering after it.
        if (this.ctx.experiment) {
          this.ctx.emit({ type: 'error', code: 'busy', message: `The experiment '${this.ctx.experiment.name}' is running; stop it (Experiments view) before ${cmd.type === 'load' ? 'loading a model' : cmd.type === 'start' ? 'starting a training run' : `'${cmd.type}'`}.` });
          return;
        }
        return this.queue(() => this.exclusive(cmd));
    }
  }

  private async pause(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.state !== 'running') return;
    ctx.setState('paused');
    // After the step in flight: a reload right after pausing resumes from here.
    await ctx.loop;
    await this.queue(() => autoSave(ctx));
  }

  private async resume(cmd: Extract<Command, { type: 'resume' }>): Promise<void> {
    const ctx = this.ctx;
    if (ctx.state !== 'paused' || !ctx.trainer) return;
    // After a reward error the page sends the functions it has now: rebuild the changed ones.
    if (cmd.rewards || cmd.builtinRewards) {
      try {
        await this.queue(() => replaceRewards(ctx, cmd.builtinRewards, cmd.rewards));
      } catch (e) {
        fail(ctx, e, 'paused');
        return;
      }
    }
    // Paused during the base probe: Start's own flow starts the loop once the probe is done.
    if (ctx.probingBase) ctx.setState('running');
    else startLoop(ctx);
  }

  private async stop(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.state !== 'running' && ctx.state !== 'paused') return;
    ctx.setState('stopping');
    await ctx.loop;
    await this.queue(() => autoSave(ctx));
    // A stop during the base probe or a rollout has already ended the run.
    if ((ctx.state as RunState) === 'stopping') ctx.setState('ready', 'stopped by the user', 'stopped');
  }

  /**
   * Refused while a training run is active or another experiment runs (checked again when its turn
   * in the queue comes, for a Start sent just before). Resolves when the experiment has ended.
   */
  private async startExperiment(cmd: Extract<Command, { type: 'experimentStart' }>): Promise<void> {
    const ctx = this.ctx;
    const no = refusal(ctx);
    if (no) {
      ctx.emit({ type: 'error', ...no });
      return;
    }
    const experiment = { id: cmd.continueId ?? `${cmd.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`, name: cmd.name, stop: false };
    ctx.experiment = experiment;
    await this.queue(async () => {
      if (ctx.experiment === experiment) ctx.experiment = null;
      // Stopped while it waited for earlier work: nothing ran, nothing to store.
      if (experiment.stop) return;
      const late = refusal(ctx);
      if (late) {
        ctx.emit({ type: 'error', ...late });
        return;
      }
      ctx.experiment = experiment;
      await runExperimentCommand(ctx, cmd);
    });
  }

  /** Model-touching work runs one piece at a time, in arrival order. */
  private queue(work: () => Promise<void>): Promise<void> {
    const run = this.busy.then(work);
    this.busy = run.catch(() => undefined);
    return run;
  }

  private async exclusive(cmd: Command): Promise<void> {
    const ctx = this.ctx;
    try {
      switch (cmd.type) {
        case 'load':
          return await load(ctx, cmd.source, cmd.backend);
        case 'start':
          return await start(ctx, cmd);
        case 'step':
          return await singleStep(ctx);
        case 'reset':
          return await this.reset();
        case 'save':
          return await save(ctx);
        case 'export':
          return await exportFiles(ctx);
        case 'evalProbes':
          return await evalProbes(ctx);
        default:
          return;
      }
    } catch (e) {
      fail(ctx, e, ctx.loaded ? 'ready' : 'error');
    }
  }

  private setConfig(patch: GrpoConfigPatch): void {
    const ctx = this.ctx;
    try {
      if (ctx.trainer) ctx.trainer.setConfig(patch);
      else {
        validateConfig({ ...ctx.pendingConfig, ...patch });
        ctx.pendingConfig = { ...ctx.pendingConfig, ...patch };
      }
      ctx.emit({ type: 'log', level: 'info', message: `Config updated: ${Object.keys(patch).join(', ')}` });
    } catch (e) {
      fail(ctx, e, ctx.state);
    }
  }

  private async reset(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx.source) return;
    ctx.disposeRun();
    // The original weights come back from the source, not from a host copy that would double memory.
    await load(ctx, ctx.source, ctx.backend?.name);
  }

  /** Stop everything and free the model; the session can load again afterwards. */
  async dispose(): Promise<void> {
    const ctx = this.ctx;
    if (ctx.experiment) ctx.experiment.stop = true;
    if (ctx.state === 'running' || ctx.state === 'paused') ctx.setState('stopping');
    await ctx.loop;
    await this.busy;
    ctx.disposeRun();
    ctx.loaded?.model.dispose();
    ctx.loaded = null;
    ctx.state = 'idle';
  }

  /** For tests: tensors the session holds should not grow step over step. */
  static numTensors(): number {
    return tf.memory().numTensors;
  }
}
