/**
 * Everything the worker has reported, plus the settings the user is editing. The page renders
 * from here; the only way out to the worker is `client.send`.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type {
  BackendName,
  BackendReport,
  Command,
  GrpoConfigPatch,
  ExperimentName,
  ExperimentPhase,
  ExperimentRecord,
  ExperimentSize,
  MemoryPlan,
  ModelSourceSpec,
  ProbeMode,
  ProbeReport,
  RolloutView,
  RunHistory,
  RunState,
  TaskSpec,
  UserRewardSpec,
  WorkerEvent,
} from '../worker/protocol';
import type { WorkerClient } from './worker-client';
import { applyPreset, defaultConfig, DEFAULT_PROBE_EVERY, fromEngineConfig, PRESETS, toPatch, type ConfigValue, type GrpoFormConfig, type Preset } from './config-schema';

/** Columnar, so charts hand arrays to uPlot without reshaping. */
export interface MetricsHistory {
  steps: number[];
  /** One array per metric name, aligned with `steps`; null where a step did not report it. */
  series: Record<string, (number | null)[]>;
}

export interface LogLine {
  time: number;
  level: 'info' | 'warn' | 'error';
  message: string;
}

export interface ErrorReport {
  id: number;
  code: string;
  message: string;
  reward?: { name: string; line?: number; column?: number };
}

export interface ProgressReport {
  phase: 'load' | 'rollout' | 'update' | 'probe' | 'save';
  done: number;
  total: number;
  message?: string;
}

export interface BuiltinRewardWeight {
  name: 'correctness' | 'format' | 'hierarchical';
  weight: number;
}

export interface ModelInfo {
  name: string;
  arch: string;
  params: number;
  vocabSize: number;
}

export interface AppState {
  runState: RunState;
  stateReason: string | null;
  backend: BackendReport | null;
  model: ModelInfo | null;
  resumable: boolean;
  /** The source of the last load command, to retry with another backend. */
  lastSource: ModelSourceSpec | null;
  loadProgress: ProgressReport | null;
  activity: ProgressReport | null;
  metrics: MetricsHistory;
  rollouts: { step: number; groups: RolloutView[] } | null;
  probes: ProbeReport[];
  logs: LogLine[];
  errors: ErrorReport[];
  /** The latest error per user reward function, shown inline in the editor. */
  rewardErrors: Record<string, ErrorReport>;
  checkpoints: { step: number; where: string }[];
  /** The worker's memory estimate for the run and the micro_batch_size it uses. */
  memoryPlan: MemoryPlan | null;
  /** Start (or Resume) was sent and the worker has not yet answered with a state. */
  starting: boolean;
  /** The projector view: sidebar hidden, few large charts, high-contrast dark theme. */
  lecture: boolean;
  /** The name of the model folder the user picked or dropped (for the TRL export's default path). */
  modelFolder: string | null;
  exported: { name: string; data: ArrayBuffer }[] | null;
  /** Wall-clock times (performance.now) of the first load command and first metrics event. */
  timing: { loadRequestedAt: number | null; firstStepAt: number | null };

  /** Experiments the worker has stored or is running, newest first. */
  experiments: ExperimentRecord[];
  /** Where the running experiment is (null when none runs). */
  experimentProgress: { id: string; phase: ExperimentPhase } | null;
  /** experimentStart was sent and the worker has not yet answered with the experiment or an error. */
  experimentStarting: boolean;

  config: GrpoFormConfig;
  preset: Preset['id'] | null;
  probeEvery: number;
  /** How the live probes measure: greedy, or the paper's Avg@8 at T = 0.6 (slower: 8 completions per prompt). */
  probeMode: ProbeMode;
  task: TaskSpec;
  userRewards: UserRewardSpec[];
  builtinRewards: BuiltinRewardWeight[];

  handleEvent(event: WorkerEvent): void;
  load(source: ModelSourceSpec, backend?: BackendName): void;
  start(opts?: { resume?: boolean }): void;
  pause(): void;
  resume(): void;
  step(): void;
  stop(): void;
  reset(): void;
  save(): void;
  exportModel(): void;
  evalProbes(): void;
  /** opts: continue a stopped or failed experiment with its own task and settings. */
  startExperiment(name: ExperimentName, size: ExperimentSize, opts?: { continueId: string; task: TaskSpec; grpo: GrpoConfigPatch }): void;
  stopExperiment(): void;
  listExperiments(): void;
  deleteExperiment(id: string): void;
  setProbeMode(mode: ProbeMode): void;
  setConfigValue(name: string, value: ConfigValue): void;
  choosePreset(id: Preset['id']): void;
  setSettings(s: { config: GrpoFormConfig; probeEvery: number; preset?: Preset['id'] | null }): void;
  setProbeEvery(n: number): void;
  setTask(task: TaskSpec): void;
  setUserRewards(rewards: UserRewardSpec[]): void;
  setBuiltinWeight(name: BuiltinRewardWeight['name'], weight: number): void;
  setBuiltinWeights(weights: BuiltinRewardWeight[]): void;
  setLecture(on: boolean): void;
  setModelFolder(name: string | null): void;
  dismissError(id: number): void;
  clearExported(): void;
}

export const MAX_LOG_LINES = 500;
export const MAX_ERRORS = 50;
/** Far more than a lecture run, few enough that copying the columns per step stays cheap. */
export const MAX_METRIC_STEPS = 100_000;

export const DEFAULT_REWARD_SOURCE = `(completion, problem) => {
  // 1 when the text inside <answer>…</answer> equals the reference answer.
  const m = completion.match(/<answer>([\\s\\S]*?)<\\/answer>/);
  return m && m[1].trim() === problem.answer ? 1 : 0;
}`;

function emptyMetrics(): MetricsHistory {
  return { steps: [], series: {} };
}

/** Appends one step; a step at or before the last one means the run rewound (reset, resume), so later steps go. */
export function appendMetrics(h: MetricsHistory, step: number, metrics: Record<string, number>): MetricsHistory {
  let keep = h.steps.length;
  while (keep > 0 && h.steps[keep - 1]! >= step) keep--;
  const drop = Math.max(0, keep + 1 - MAX_METRIC_STEPS);
  const steps = h.steps.slice(drop, keep);
  steps.push(step);
  const series: Record<string, (number | null)[]> = {};
  const names = new Set([...Object.keys(h.series), ...Object.keys(metrics)]);
  for (const name of names) {
    const old = h.series[name];
    const col = old ? old.slice(drop, keep) : new Array<number | null>(steps.length - 1).fill(null);
    const v = metrics[name];
    col.push(typeof v === 'number' && Number.isFinite(v) ? v : null);
    series[name] = col;
  }
  return { steps, series };
}

/** Rebuilds the columns from a saved run's per-step metrics (sorted, one entry per step). */
export function metricsFromHistory(rows: RunHistory['metrics']): MetricsHistory {
  const sorted = [...rows].sort((a, b) => a.step - b.step);
  let h = emptyMetrics();
  for (const r of sorted) h = appendMetrics(h, r.step, r.metrics);
  return h;
}

/** One report per step (the later one wins), in step order. */
export function mergeProbes(a: readonly ProbeReport[], b: readonly ProbeReport[]): ProbeReport[] {
  const byStep = new Map<number, ProbeReport>();
  for (const r of [...a, ...b]) byStep.set(r.step, r);
  return [...byStep.values()].sort((x, y) => x.step - y.step);
}

/** A checkpoint of a step already listed replaces that entry: a resumed run saves the same step again. */
export function addCheckpoint(list: readonly { step: number; where: string }[], c: { step: number; where: string }, max = 20): { step: number; where: string }[] {
  const out = list.filter((x) => x.step !== c.step);
  out.push(c);
  out.sort((x, y) => x.step - y.step);
  return out.slice(-max);
}

/** Reward errors of functions that are gone or whose code changed point at code that no longer runs. */
function keepRewardErrors(errors: Record<string, ErrorReport>, before: UserRewardSpec[], after: UserRewardSpec[]): Record<string, ErrorReport> {
  const out: Record<string, ErrorReport> = {};
  for (const [name, e] of Object.entries(errors)) {
    const old = before.find((r) => r.name === name);
    const cur = after.find((r) => r.name === name);
    if (old && cur && old.source === cur.source) out[name] = e;
  }
  return out;
}

function now(): number {
  return typeof performance !== 'undefined' ? performance.now() : Date.now();
}

let nextErrorId = 1;

export function createAppStore(client: WorkerClient): StoreApi<AppState> {
  const store = createStore<AppState>()((set, get) => {
    const send = (cmd: Command) => client.send(cmd);
    const log = (level: LogLine['level'], message: string) =>
      set((s) => ({ logs: [...s.logs.slice(-(MAX_LOG_LINES - 1)), { time: Date.now(), level, message }] }));

    return {
      runState: 'idle',
      stateReason: null,
      backend: null,
      model: null,
      resumable: false,
      lastSource: null,
      loadProgress: null,
      activity: null,
      metrics: emptyMetrics(),
      rollouts: null,
      probes: [],
      logs: [],
      errors: [],
      rewardErrors: {},
      checkpoints: [],
      memoryPlan: null,
      starting: false,
      lecture: false,
      modelFolder: null,
      exported: null,
      timing: { loadRequestedAt: null, firstStepAt: null },
      experiments: [],
      experimentProgress: null,
      experimentStarting: false,
      config: defaultConfig(),
      preset: null,
      probeEvery: DEFAULT_PROBE_EVERY,
      probeMode: 'greedy',
      task: { kind: 'toy-world' },
      userRewards: [],
      builtinRewards: [
        { name: 'correctness', weight: 1 },
        { name: 'format', weight: 0.2 },
        { name: 'hierarchical', weight: 0 },
      ],

      handleEvent(event) {
        switch (event.type) {
          case 'progress':
            if (event.phase === 'load') set({ loadProgress: { ...event } });
            else set({ activity: { ...event }, starting: false });
            return;
          case 'loaded':
            set({ backend: event.backend, model: event.model, resumable: event.resumable, loadProgress: null });
            log('info', `Loaded ${event.model.name} (${event.model.arch}, ${event.model.params.toLocaleString('en')} parameters) on ${event.backend.name}.`);
            return;
          case 'resumed':
            set({ config: fromEngineConfig(event.config), probeEvery: event.probeEvery, task: event.task, preset: null, probeMode: event.probeMode ?? 'greedy' });
            return;
          case 'state':
            set({ runState: event.state, stateReason: event.reason ?? null, starting: false });
            if (event.state !== 'loading') set({ loadProgress: null });
            // A save can finish after a pause; probing and updates cannot.
            if (event.state !== 'running') set((s) => ({ activity: s.activity?.phase === 'save' && event.state === 'paused' ? s.activity : null }));
            return;
          case 'memoryPlan':
            set({ memoryPlan: { ...event.plan } });
            return;
          case 'history': {
            const h = event.history;
            set((s) => {
              // The saved log comes first; this session's lines (load, resume) follow it.
              const saved: LogLine[] = h.log.map((l) => ({ ...l }));
              const seen = new Set(saved.map((l) => `${l.time}|${l.message}`));
              const logs = [...saved, ...s.logs.filter((l) => !seen.has(`${l.time}|${l.message}`))].slice(-MAX_LOG_LINES);
              return { metrics: metricsFromHistory(h.metrics), probes: mergeProbes([], h.probes), logs };
            });
            return;
          }
          case 'metrics':
            set((s) => ({
              metrics: appendMetrics(s.metrics, event.step, event.metrics),
              timing: s.timing.firstStepAt === null ? { ...s.timing, firstStepAt: now() } : s.timing,
            }));
            return;
          case 'rollouts':
            set({ rollouts: { step: event.step, groups: event.groups } });
            return;
          case 'probes':
            set((s) => {
              const kept = s.probes.filter((p) => p.step < event.report.step);
              return { probes: [...kept, event.report] };
            });
            return;
          case 'checkpoint':
            set((s) => ({ checkpoints: addCheckpoint(s.checkpoints, { step: event.step, where: event.where }) }));
            return;
          case 'exported':
            set({ exported: event.files });
            log('info', `Exported ${event.files.length} model file(s).`);
            return;
          case 'log':
            log(event.level, event.message);
            return;
          case 'experiments':
            set((s) => {
              // The one running here is newer than anything the store listed.
              const live = s.experiments.filter((e) => e.status === 'running' && !event.records.some((r) => r.id === e.id));
              return { experiments: [...live, ...event.records] };
            });
            return;
          case 'experiment': {
            const r = event.record;
            set((s) => ({
              experimentStarting: false,
              experiments: s.experiments.some((e) => e.id === r.id) ? s.experiments.map((e) => (e.id === r.id ? r : e)) : [r, ...s.experiments],
              experimentProgress: r.status === 'running' ? s.experimentProgress : s.experimentProgress?.id === r.id ? null : s.experimentProgress,
            }));
            return;
          }
          case 'experimentProgress':
            set({ experimentProgress: { id: event.id, phase: { ...event.phase } } });
            return;
          case 'error': {
            const report: ErrorReport = { id: nextErrorId++, code: event.code, message: event.message, reward: event.reward };
            set((s) => ({
              starting: false,
              experimentStarting: false,
              errors: [...s.errors.slice(-(MAX_ERRORS - 1)), report],
              rewardErrors: event.reward ? { ...s.rewardErrors, [event.reward.name]: report } : s.rewardErrors,
            }));
            log('error', `${event.code}: ${event.message}`);
            return;
          }
        }
      },

      load(source, backend) {
        set((s) => ({
          lastSource: source,
          runState: 'loading',
          // Old errors were about the previous model or backend; the log keeps them.
          errors: [],
          memoryPlan: null,
          loadProgress: { phase: 'load', done: 0, total: 1 },
          timing: s.timing.loadRequestedAt === null ? { ...s.timing, loadRequestedAt: now() } : s.timing,
        }));
        send({ type: 'load', source, backend });
      },
      start(opts) {
        const s = get();
        // Old errors of a function the user has since fixed would point at the wrong line; the log keeps them all.
        set({ rewardErrors: {}, errors: [], starting: true, memoryPlan: null });
        if (opts?.resume) {
          // A saved run continues with its own settings; the worker sends them back ('resumed') for the form.
          send({ type: 'start', resume: true });
          set({ resumable: false });
          return;
        }
        // A preset's probe size is part of what it measured (its intervals); the form has no field for it.
        const probeCount = PRESETS.find((p) => p.id === s.preset)?.probeCount;
        send({
          type: 'start',
          config: toPatch(s.config),
          task: s.task,
          rewards: s.userRewards,
          builtinRewards: s.builtinRewards.filter((b) => b.weight !== 0).map((b) => ({ ...b })),
          probeEvery: s.probeEvery,
          probeMode: s.probeMode,
          ...(probeCount !== undefined ? { probeCount } : {}),
          resume: false,
        });
      },
      pause: () => send({ type: 'pause' }),
      resume() {
        const s = get();
        // After a reward error the user may have fixed the function: the worker rebuilds what changed.
        set({ rewardErrors: {}, errors: s.errors.filter((e) => !e.reward && e.code !== 'reward'), starting: true });
        send({ type: 'resume', rewards: s.userRewards.map((r) => ({ ...r })), builtinRewards: s.builtinRewards.filter((b) => b.weight !== 0).map((b) => ({ ...b })) });
      },
      step: () => send({ type: 'step' }),
      stop: () => send({ type: 'stop' }),
      reset() {
        set({ metrics: emptyMetrics(), rollouts: null, probes: [], checkpoints: [], errors: [] });
        send({ type: 'reset' });
      },
      save: () => send({ type: 'save' }),
      exportModel: () => send({ type: 'export' }),
      evalProbes: () => send({ type: 'evalProbes' }),
      startExperiment(name, size, opts) {
        set({ experimentStarting: true });
        if (opts) send({ type: 'experimentStart', name, size: { ...size }, task: opts.task, grpo: { ...opts.grpo }, continueId: opts.continueId });
        // The recipe trains on the page's task, as the training run would.
        else send({ type: 'experimentStart', name, size: { ...size }, task: get().task });
      },
      stopExperiment: () => send({ type: 'experimentStop' }),
      listExperiments: () => send({ type: 'experimentList' }),
      deleteExperiment: (id) => send({ type: 'experimentDelete', id }),
      setProbeMode: (mode) => set({ probeMode: mode }),

      setConfigValue(name, value) {
        set((s) => ({ config: { ...s.config, [name]: value }, preset: null }));
        const state = get().runState;
        if (state === 'running' || state === 'paused') send({ type: 'setConfig', config: { [name]: value } });
      },
      choosePreset(id) {
        const p = applyPreset(id);
        set({ config: p.config, probeEvery: p.probeEvery, preset: id });
        const state = get().runState;
        if (state === 'running' || state === 'paused') send({ type: 'setConfig', config: toPatch(p.config) });
      },
      setSettings(s) {
        set({ config: { ...defaultConfig(), ...s.config }, probeEvery: s.probeEvery, preset: s.preset ?? null });
      },
      setProbeEvery: (n) => set({ probeEvery: n }),
      setTask: (task) => set({ task }),
      setUserRewards(rewards) {
        set((s) => {
          const rewardErrors = keepRewardErrors(s.rewardErrors, s.userRewards, rewards);
          const live = new Set(Object.keys(rewardErrors));
          // A banner about a function that was removed or rewritten is about code that no longer runs.
          const errors = s.errors.filter((e) => !e.reward || live.has(e.reward.name));
          return { userRewards: rewards, rewardErrors, errors };
        });
      },
      setBuiltinWeight(name, weight) {
        set((s) => ({ builtinRewards: s.builtinRewards.map((b) => (b.name === name ? { ...b, weight } : b)) }));
      },
      setBuiltinWeights(weights) {
        set((s) => ({ builtinRewards: s.builtinRewards.map((b) => ({ ...b, weight: weights.find((w) => w.name === b.name)?.weight ?? 0 })) }));
      },
      setLecture: (on) => set({ lecture: on }),
      setModelFolder: (name) => set({ modelFolder: name }),
      dismissError(id) {
        set((s) => ({ errors: s.errors.filter((e) => e.id !== id) }));
      },
      clearExported: () => set({ exported: null }),
    };
  });
  client.subscribe((event) => store.getState().handleEvent(event));
  return store;
}
