/**
 * A stand-in for the training worker that speaks the same protocol with made-up numbers.
 * It lets the page be developed, demonstrated and tested (`?mock` in the URL) without a model or GPU.
 * Nothing here trains anything.
 */
import type { Command, ProbeReport, ProbeScore, RolloutView, WorkerEvent } from '../worker/protocol';
import type { WorkerPort } from './worker-client';
import { Rng } from '../core/rng';

type MessageListener = (ev: MessageEvent<WorkerEvent>) => void;

function wilson(k: number, n: number): ProbeScore {
  const z = 1.96;
  const p = n === 0 ? 0 : k / n;
  const denom = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { acc: p, lo: Math.max(0, center - half), hi: Math.min(1, center + half), n };
}

export class MockTrainingWorker implements WorkerPort {
  private listeners: MessageListener[] = [];
  private timer: ReturnType<typeof setTimeout> | null = null;
  private step = 0;
  private running = false;
  private loaded = false;
  private probeEvery = 5;
  private savedStep: number | null = null;
  private rng = new Rng(7);

  constructor(private readonly stepMs = 250) {
    try {
      const saved = globalThis.localStorage?.getItem('tabzero-mock-checkpoint');
      this.savedStep = saved === null || saved === undefined ? null : Number(saved);
    } catch {
      this.savedStep = null;
    }
  }

  addEventListener(type: 'message', listener: MessageListener): void;
  addEventListener(type: 'error', listener: (ev: ErrorEvent) => void): void;
  addEventListener(type: 'message' | 'error', listener: MessageListener | ((ev: ErrorEvent) => void)): void {
    if (type === 'message') this.listeners.push(listener as MessageListener);
  }

  terminate(): void {
    this.clearTimer();
    this.listeners = [];
  }

  postMessage(cmd: Command): void {
    // Answer asynchronously, as a real worker would.
    setTimeout(() => this.handle(cmd), 0);
  }

  private emit(event: WorkerEvent) {
    const ev = { data: event } as MessageEvent<WorkerEvent>;
    for (const l of this.listeners) l(ev);
  }

  private clearTimer() {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private handle(cmd: Command) {
    switch (cmd.type) {
      case 'load':
        this.emit({ type: 'state', state: 'loading' });
        for (let i = 1; i <= 4; i++) this.emit({ type: 'progress', phase: 'load', done: i, total: 4, message: `mock file ${i}/4` });
        this.loaded = true;
        this.emit({
          type: 'loaded',
          backend: { name: cmd.backend ?? 'webgpu', adapter: 'Mock adapter (no real GPU work)', fallbackReason: null },
          model: { name: 'mock-tiny', arch: 'llama', params: 1_234_567, vocabSize: 512 },
          resumable: this.savedStep !== null,
        });
        this.emit({ type: 'state', state: 'ready' });
        return;
      case 'start': {
        if (!this.loaded) return this.emit({ type: 'error', code: 'not-loaded', message: 'Load a model before starting.' });
        for (const r of cmd.rewards ?? []) {
          try {
            new Function('completion', 'problem', `return (${r.source});`);
          } catch (e) {
            return this.emit({ type: 'error', code: 'reward-syntax', message: `${r.name}: ${(e as Error).message}`, reward: { name: r.name, line: 1, column: 1 } });
          }
          if (/while\s*\(\s*true\s*\)/.test(r.source)) {
            this.emit({ type: 'error', code: 'reward-timeout', message: `${r.name} took longer than 50 ms on one completion and was stopped.`, reward: { name: r.name, line: 1 } });
            return this.emit({ type: 'state', state: 'ready', reason: 'reward function timed out' });
          }
        }
        // A resume carries no settings: the saved run keeps its own.
        if (!cmd.resume) this.probeEvery = cmd.probeEvery ?? 5;
        if (cmd.resume && this.savedStep !== null) this.step = this.savedStep;
        if (this.step === 0) this.emitProbes();
        this.running = true;
        this.emit({ type: 'state', state: 'running' });
        this.schedule();
        return;
      }
      case 'pause':
        this.running = false;
        this.clearTimer();
        this.emit({ type: 'state', state: 'paused' });
        return;
      case 'resume':
        this.running = true;
        this.emit({ type: 'state', state: 'running' });
        this.schedule();
        return;
      case 'step':
        this.doStep();
        return;
      case 'stop':
        this.running = false;
        this.clearTimer();
        this.emit({ type: 'state', state: 'ready', reason: 'stopped' });
        return;
      case 'reset':
        this.running = false;
        this.clearTimer();
        this.step = 0;
        this.emit({ type: 'log', level: 'info', message: 'Weights reset to the base model.' });
        this.emit({ type: 'state', state: 'ready' });
        return;
      case 'save':
        this.save();
        return;
      case 'export':
        this.emit({ type: 'exported', files: [{ name: 'config.json', data: new TextEncoder().encode('{"model_type":"llama"}').buffer as ArrayBuffer }] });
        return;
      case 'evalProbes':
        this.emitProbes();
        return;
      case 'setConfig':
        this.emit({ type: 'log', level: 'info', message: `config updated: ${Object.keys(cmd.config).join(', ')}` });
        return;
    }
  }

  private save() {
    this.savedStep = this.step;
    try {
      globalThis.localStorage?.setItem('tabzero-mock-checkpoint', String(this.step));
    } catch {
      // storage can be unavailable (private mode); the mock then just forgets.
    }
    this.emit({ type: 'checkpoint', step: this.step, where: 'mock storage' });
  }

  private schedule() {
    this.clearTimer();
    if (!this.running) return;
    this.timer = setTimeout(() => {
      this.doStep();
      this.schedule();
    }, this.stepMs);
  }

  private emitProbes() {
    const t = Math.min(1, this.step / 60);
    const n = 64;
    const k = (p: number) => Math.round(p * n);
    const plain = wilson(k(0.3 + 0.3 * t), n);
    const plan = wilson(k(0.25 + 0.37 * t), n);
    const knowledge = wilson(k(0.25 + 0.42 * t), n);
    const subproblems = wilson(k(0.12 + 0.2 * t), n);
    const report: ProbeReport = {
      step: this.step,
      plain,
      plan,
      knowledge,
      subproblems,
      planEffect: plan.acc - plain.acc,
      knowledgeEffect: knowledge.acc - plain.acc,
    };
    this.emit({ type: 'probes', report });
  }

  private doStep() {
    this.step += 1;
    const s = this.step;
    const r = this.rng;
    const progress = 1 - Math.exp(-s / 40);
    const reward = 0.2 + 0.6 * progress + 0.05 * (r.next() - 0.5);
    this.emit({
      type: 'metrics',
      step: s,
      metrics: {
        reward,
        reward_std: 0.3 - 0.1 * progress,
        'rewards/correctness/mean': reward * 0.8,
        'rewards/format/mean': Math.min(1, reward * 1.3),
        accuracy: reward * 0.8,
        kl: 0.002 * s * (1 + r.next() * 0.1),
        entropy: 2.5 - 1.2 * progress,
        'completions/mean_length': 30 + 10 * r.next(),
        'completions/clipped_ratio': 0.1 * (1 - progress),
        'clip_ratio/region_mean': 0.02 * r.next(),
        'clip_ratio/low_mean': 0.01 * r.next(),
        'clip_ratio/high_mean': 0.01 * r.next(),
        frac_reward_zero_std: 0.25,
        policy_loss: -0.01 * r.next(),
        grad_norm: 0.5 + r.next(),
        learning_rate: 3e-4,
        tokens_per_s: 900 + 100 * r.next(),
        step_time: 0.25,
      },
    });
    const groups: RolloutView[] = [0, 1].map((g) => {
      const rewards = Array.from({ length: 4 }, () => (r.next() < reward ? 1 : 0) + 0.1);
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      const sd = Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / (rewards.length - 1));
      return {
        problemId: `p${s}-${g}`,
        prompt: `A crate holds 6 jars. Mia has ${g + 3} crates and breaks 2 jars. How many jars are left?`,
        completions: rewards.map((rw, i) => {
          const answer = rw > 1 ? String((g + 3) * 6 - 2) : String(10 + i);
          const tokens = ['<think>', ' 6', ' ×', ` ${g + 3}`, ' −', ' 2', '</think>', '<answer>', answer, '</answer>'];
          return {
            text: tokens.join(''),
            tokens,
            reward: rw,
            rewards: { correctness: rw > 1 ? 1 : 0, format: 0.1 },
            advantage: (rw - mean) / (sd + 1e-4),
            finish: 'eos' as const,
          };
        }),
      };
    });
    this.emit({ type: 'rollouts', step: s, groups });
    if (this.probeEvery > 0 && s % this.probeEvery === 0) this.emitProbes();
    if (s % 5 === 0) this.save();
  }
}
