/**
 * A stand-in for the training worker that speaks the same protocol with made-up numbers.
 * It lets the page be developed, demonstrated and tested (`?mock` in the URL) without a model or GPU.
 * Nothing here trains anything. `?mock=wasm` and `?mock=swiftshader` report those backends instead
 * of a hardware GPU, so every badge and banner can be looked at.
 */
import type { BackendReport, Command, GrpoConfigPatch, ProbeReport, ProbeScore, RolloutView, RunHistory, TaskSpec, UserRewardSpec, WorkerEvent } from '../worker/protocol';
import type { WorkerPort } from './worker-client';
import { Rng } from '../core/rng';

type MessageListener = (ev: MessageEvent<WorkerEvent>) => void;

export type MockBackend = 'gpu' | 'swiftshader' | 'wasm';

export interface MockOptions {
  /** Milliseconds per phase tick (a rollout or update chunk, a probe batch). */
  tickMs?: number;
  backend?: MockBackend;
  /** Where the mock keeps its "checkpoint" (localStorage in the page). */
  storage?: Pick<Storage, 'getItem' | 'setItem'> | null;
}

const STORAGE_KEY = 'tabzero-mock-checkpoint';
const ROLLOUT_CHUNKS = 4;
const UPDATE_CHUNKS = 3;
const PROBE_BATCHES = 6;

function wilson(k: number, n: number): ProbeScore {
  if (n === 0) return { acc: 0, lo: 0, hi: 0, n: 0 };
  const z = 1.96;
  const p = k / n;
  const denom = 1 + (z * z) / n;
  const center = (p + (z * z) / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n))) / denom;
  return { acc: p, lo: Math.max(0, center - half), hi: Math.min(1, center + half), n };
}

/**
 * What the worker would report: 'gpu' measures a hardware GPU and takes it; 'swiftshader' measures a
 * software adapter and takes wasm (unless WebGPU is forced); 'wasm' is a browser without WebGPU.
 */
export function mockBackendReport(kind: MockBackend, requested?: string): BackendReport {
  const timings =
    kind === 'wasm'
      ? [{ name: 'webgpu' as const, ms: null, error: 'navigator.gpu is missing' }, { name: 'wasm' as const, ms: 23 }, { name: 'cpu' as const, ms: 310 }]
      : [{ name: 'webgpu' as const, ms: kind === 'gpu' ? 1.8 : 410 }, { name: 'wasm' as const, ms: 23 }, { name: 'cpu' as const, ms: 310 }];
  if (requested === 'cpu') return { name: 'cpu', adapter: null, fallbackReason: null, timings, why: 'You chose cpu (the slow reference backend).' };
  if (requested === 'wasm') return { name: 'wasm', adapter: null, fallbackReason: null, timings, why: 'You chose wasm.' };
  if (kind === 'gpu') return { name: 'webgpu', adapter: 'Mock GPU (no real work)', fallbackReason: null, softwareAdapter: false, timings, why: 'WebGPU on a hardware GPU: 13× faster than wasm here.' };
  if (kind === 'swiftshader' && requested === 'webgpu') {
    return { name: 'webgpu', adapter: 'google / swiftshader', fallbackReason: null, softwareAdapter: true, timings, why: 'You chose WebGPU, but its adapter is a software renderer (SwiftShader): wasm measured 18× faster.' };
  }
  if (kind === 'swiftshader') return { name: 'wasm', adapter: null, fallbackReason: null, softwareAdapter: false, timings, why: 'WebGPU adapter is a software renderer (SwiftShader): wasm is 18× faster here.' };
  return { name: 'wasm', adapter: null, fallbackReason: 'This browser does not offer WebGPU.', timings, why: 'This browser has no WebGPU: training runs on the CPU through WebAssembly.' };
}

interface Saved {
  step: number;
  history: RunHistory;
  probeEvery: number;
  task: TaskSpec;
}

export class MockTrainingWorker implements WorkerPort {
  private listeners: MessageListener[] = [];
  private step = 0;
  private running = false;
  private looping = false;
  private loaded = false;
  private probeEvery = 5;
  private task: TaskSpec = { kind: 'toy-world' };
  private config: GrpoConfigPatch = {};
  private rewards: UserRewardSpec[] = [];
  private history: RunHistory = { metrics: [], probes: [], log: [] };
  private pendingSteps = 0;
  private rng = new Rng(7);
  private readonly tickMs: number;
  private readonly backend: MockBackend;
  private readonly storage: Pick<Storage, 'getItem' | 'setItem'> | null;
  private timers = new Set<ReturnType<typeof setTimeout>>();

  constructor(opts: MockOptions | number = {}) {
    const o = typeof opts === 'number' ? { tickMs: opts / 8 } : opts;
    this.tickMs = o.tickMs ?? 40;
    this.backend = o.backend ?? 'gpu';
    let storage: Pick<Storage, 'getItem' | 'setItem'> | null = null;
    try {
      storage = o.storage === undefined ? (globalThis.localStorage ?? null) : o.storage;
    } catch {
      storage = null;
    }
    this.storage = storage;
  }

  addEventListener(type: 'message', listener: MessageListener): void;
  addEventListener(type: 'error', listener: (ev: ErrorEvent) => void): void;
  addEventListener(type: 'message' | 'error', listener: MessageListener | ((ev: ErrorEvent) => void)): void {
    if (type === 'message') this.listeners.push(listener as MessageListener);
  }

  terminate(): void {
    this.running = false;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.listeners = [];
  }

  postMessage(cmd: Command): void {
    // Answer asynchronously, as a real worker would.
    this.later(0).then(() => this.handle(cmd));
  }

  private later(ms: number): Promise<void> {
    return new Promise((res) => {
      const t = setTimeout(() => {
        this.timers.delete(t);
        res();
      }, ms);
      this.timers.add(t);
    });
  }

  private emit(event: WorkerEvent) {
    if (event.type === 'log') this.history.log.push({ time: Date.now(), level: event.level, message: event.message });
    const ev = { data: event } as MessageEvent<WorkerEvent>;
    for (const l of this.listeners) l(ev);
  }

  private readSaved(): Saved | null {
    try {
      const raw = this.storage?.getItem(STORAGE_KEY);
      if (!raw) return null;
      const v = JSON.parse(raw) as Saved;
      return typeof v.step === 'number' && v.history ? v : null;
    } catch {
      return null;
    }
  }

  /** The mock's stand-in for a reward function that cannot run: a syntax error or an endless loop. */
  private rewardProblem(rewards: UserRewardSpec[]): WorkerEvent | null {
    for (const r of rewards) {
      try {
        new Function('completion', 'problem', `return (${r.source});`);
      } catch (e) {
        return { type: 'error', code: 'reward', message: `${r.name}: ${(e as Error).message}`, reward: { name: r.name, line: 1, column: 1 } };
      }
      if (/while\s*\(\s*true\s*\)/.test(r.source)) return { type: 'error', code: 'reward', message: `${r.name} took longer than 50 ms on one completion and was stopped.`, reward: { name: r.name, line: 1 } };
    }
    return null;
  }

  private async handle(cmd: Command) {
    switch (cmd.type) {
      case 'load':
        this.emit({ type: 'state', state: 'loading' });
        for (let i = 1; i <= 4; i++) this.emit({ type: 'progress', phase: 'load', done: i, total: 4, message: `mock file ${i}/4` });
        this.loaded = true;
        const backend = mockBackendReport(this.backend, cmd.backend);
        // As the session does: the fallback is logged once, by the worker, before 'loaded'.
        if (backend.fallbackReason) this.emit({ type: 'log', level: 'warn', message: backend.fallbackReason });
        this.emit({
          type: 'loaded',
          backend,
          model: { name: 'mock-tiny', arch: 'llama', params: 1_234_567, vocabSize: 512 },
          resumable: this.readSaved() !== null,
        });
        this.emit({ type: 'state', state: 'ready' });
        return;
      case 'start': {
        if (!this.loaded) return this.emit({ type: 'error', code: 'not-loaded', message: 'Load a model before starting.' });
        const saved = cmd.resume ? this.readSaved() : null;
        if (saved) {
          this.step = saved.step;
          this.history = saved.history;
          this.probeEvery = saved.probeEvery;
          this.task = saved.task;
          this.emit({ type: 'resumed', step: saved.step, config: this.config, probeEvery: saved.probeEvery, task: saved.task });
          this.emit({ type: 'history', history: this.history });
        } else {
          this.rewards = cmd.rewards ?? [];
          const bad = this.rewardProblem(this.rewards);
          if (bad) {
            this.emit(bad);
            return this.emit({ type: 'state', state: 'ready', reason: 'reward function failed' });
          }
          this.probeEvery = cmd.probeEvery ?? 5;
          this.task = cmd.task ?? { kind: 'toy-world' };
          this.config = cmd.config ?? {};
          this.step = 0;
          this.history = { metrics: [], probes: [], log: [] };
        }
        const mbs = typeof this.config.micro_batch_size === 'number' ? this.config.micro_batch_size : 0;
        this.emit({ type: 'memoryPlan', plan: { microBatchSize: mbs > 0 ? mbs : 32, auto: mbs <= 0, estimatedBytes: 190 * 2 ** 20, limitBytes: 2 * 2 ** 30 } });
        this.running = true;
        this.emit({ type: 'state', state: 'running' });
        if (this.step === 0 && this.probeEvery > 0) await this.probe(true);
        void this.loop();
        return;
      }
      case 'pause':
        this.running = false;
        this.emit({ type: 'state', state: 'paused' });
        return;
      case 'resume': {
        if (cmd.rewards) this.rewards = cmd.rewards;
        const bad = this.rewardProblem(this.rewards);
        if (bad) {
          this.emit(bad);
          return this.emit({ type: 'state', state: 'paused', reason: 'reward function failed' });
        }
        this.running = true;
        this.emit({ type: 'state', state: 'running' });
        void this.loop();
        return;
      }
      case 'step':
        this.pendingSteps++;
        void this.loop();
        return;
      case 'stop':
        this.running = false;
        this.emit({ type: 'state', state: 'ready', reason: 'stopped' });
        return;
      case 'reset':
        this.running = false;
        this.step = 0;
        this.history = { metrics: [], probes: [], log: [] };
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
        await this.probe(false);
        return;
      case 'setConfig':
        this.config = { ...this.config, ...cmd.config };
        this.emit({ type: 'log', level: 'info', message: `config updated: ${Object.keys(cmd.config).join(', ')}` });
        return;
      case 'experimentList':
        this.emit({ type: 'experiments', records: [] });
        return;
      case 'experimentStart':
        // Made-up numbers in a table with intervals would read as a result: the mock runs none.
        this.emit({ type: 'error', code: 'not-loaded', message: 'The mock worker runs no experiments: open the page without ?mock to run one on the model.' });
        return;
      case 'experimentStop':
      case 'experimentDelete':
        return;
    }
  }

  /** Runs steps while running (or the requested single steps); one loop at a time. */
  private async loop() {
    if (this.looping) return;
    this.looping = true;
    try {
      while (this.running || this.pendingSteps > 0) {
        const single = !this.running;
        if (single) this.pendingSteps--;
        await this.doStep(single);
      }
    } finally {
      this.looping = false;
    }
  }

  private save() {
    this.emit({ type: 'progress', phase: 'save', done: 0, total: 1 });
    const saved: Saved = { step: this.step, history: this.history, probeEvery: this.probeEvery, task: this.task };
    try {
      this.storage?.setItem(STORAGE_KEY, JSON.stringify(saved));
    } catch {
      // storage can be unavailable (private mode); the mock then just forgets.
    }
    this.emit({ type: 'checkpoint', step: this.step, where: 'mock storage' });
  }

  private async probe(base: boolean) {
    for (let i = 1; i <= PROBE_BATCHES; i++) {
      this.emit({ type: 'progress', phase: 'probe', done: i, total: PROBE_BATCHES, ...(base ? { message: 'base' } : {}) });
      await this.later(this.tickMs);
    }
    const t = Math.min(1, this.step / 40);
    const n = 96;
    const k = (p: number) => Math.round(p * n);
    // An imported data set without plans or facts has nothing to probe with: n = 0.
    const hints = this.task.kind !== 'jsonl';
    const plain = wilson(k(0.31 + 0.24 * t), n);
    const plan = hints ? wilson(k(0.25 + 0.19 * t), n) : wilson(0, 0);
    const knowledge = hints ? wilson(k(0.26 + 0.19 * t), n) : wilson(0, 0);
    const subproblems = wilson(k(0.135 + 0.17 * t), n);
    const report: ProbeReport = {
      step: this.step,
      plain,
      plan,
      knowledge,
      subproblems,
      planEffect: hints ? plan.acc - plain.acc : 0,
      knowledgeEffect: hints ? knowledge.acc - plain.acc : 0,
    };
    this.history.probes.push(report);
    this.emit({ type: 'probes', report });
  }

  /** One made-up step; a pause in the middle abandons it, as if the pause came just before. */
  private async doStep(single: boolean) {
    const r = this.rng;
    const phases: ['rollout' | 'update', number][] = [
      ['rollout', ROLLOUT_CHUNKS],
      ['update', UPDATE_CHUNKS],
    ];
    for (const [phase, total] of phases) {
      for (let i = 1; i <= total; i++) {
        if (!single && !this.running) return;
        this.emit({ type: 'progress', phase, done: i, total });
        await this.later(this.tickMs);
      }
    }
    if (!single && !this.running) return;
    this.step += 1;
    const s = this.step;
    const progress = 1 - Math.exp(-s / 25);
    const reward = 0.3 + 0.5 * progress + 0.35 * (r.next() - 0.5);
    const metrics: Record<string, number> = {
      reward,
      reward_std: 0.3 - 0.1 * progress,
      'rewards/correctness/mean': reward * 0.8,
      'rewards/format/mean': Math.min(1, reward * 1.3),
      kl: 0.002 * s * (1 + r.next() * 0.1),
      entropy: 2.5 - 1.2 * progress,
      'completions/mean_length': 60 - 15 * progress + 6 * r.next(),
      'completions/clipped_ratio': 0.1 * (1 - progress),
      'clip_ratio/region_mean': 0.02 * r.next(),
      frac_reward_zero_std: 0.25,
      policy_loss: -0.01 * r.next(),
      grad_norm: 0.5 + r.next(),
      learning_rate: 1e-4,
      tokens_per_s: 900 + 100 * r.next(),
      rollout_time_s: 0.2,
      update_time_s: 0.1,
      num_tensors: 120,
      bytes: 3.4e6,
    };
    this.history.metrics.push({ step: s, metrics });
    this.emit({ type: 'metrics', step: s, metrics });
    const groups: RolloutView[] = [0, 1].map((g) => {
      const rewards = Array.from({ length: 4 }, () => (r.next() < reward ? 1 : 0) + 0.1);
      const mean = rewards.reduce((a, b) => a + b, 0) / rewards.length;
      const sd = Math.sqrt(rewards.reduce((a, b) => a + (b - mean) ** 2, 0) / (rewards.length - 1));
      return {
        problemId: `p${s}-${g}`,
        prompt: `A crate holds 6 jars. Mia has ${g + 3} crates and breaks 2 jars. How many jars are left?`,
        completions: rewards.map((rw, i) => {
          const answer = rw > 1 ? String((g + 3) * 6 - 2) : String(10 + i);
          const tokens = [' 6', ' ×', ` ${g + 3}`, ' −', ' 2', ' </think>', ' <answer>', answer, '</answer>'];
          return { text: tokens.join(''), tokens, reward: rw, rewards: { correctness: rw > 1 ? 1 : 0, format: 0.1 }, advantage: (rw - mean) / (sd + 1e-4), finish: 'eos' as const };
        }),
      };
    });
    this.emit({ type: 'rollouts', step: s, groups });
    if (this.probeEvery > 0 && s % this.probeEvery === 0) await this.probe(false);
    if (s % 5 === 0) this.save();
  }
}
