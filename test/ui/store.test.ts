import { describe, expect, it } from 'vitest';
import { appendMetrics, createAppStore, MAX_LOG_LINES, type MetricsHistory } from '../../src/ui/store';
import { metricsToCsv, metricsToJsonl } from '../../src/ui/metrics-export';
import type { ProbeReport } from '../../src/worker/protocol';
import { fakeClient } from './fake-client';
import { applyPreset, defaultConfig, PRESETS } from '../../src/ui/config-schema';
import { readShareLink, shareLink } from '../../src/ui/share-link';

const score = (acc: number) => ({ acc, lo: acc - 0.1, hi: acc + 0.1, n: 50 });
const report = (step: number, plain: number): ProbeReport => ({ step, plain: score(plain), plan: score(plain - 0.05), knowledge: score(plain + 0.02), subproblems: score(plain / 2), planEffect: -0.05, knowledgeEffect: 0.02 });

describe('metrics history', () => {
  it('keeps columns aligned when a step lacks a metric or brings a new one', () => {
    let h: MetricsHistory = { steps: [], series: {} };
    h = appendMetrics(h, 1, { reward: 0.5, kl: 0.01 });
    h = appendMetrics(h, 2, { reward: 0.6 });
    h = appendMetrics(h, 3, { reward: 0.7, entropy: 2, kl: Number.NaN });
    expect(h.steps).toEqual([1, 2, 3]);
    expect(h.series.reward).toEqual([0.5, 0.6, 0.7]);
    expect(h.series.kl).toEqual([0.01, null, null]);
    expect(h.series.entropy).toEqual([null, null, 2]);
  });

  it('drops later steps when the run rewinds (reset or resume from an earlier checkpoint)', () => {
    let h: MetricsHistory = { steps: [], series: {} };
    for (let s = 1; s <= 5; s++) h = appendMetrics(h, s, { reward: s });
    h = appendMetrics(h, 3, { reward: 30 });
    expect(h.steps).toEqual([1, 2, 3]);
    expect(h.series.reward).toEqual([1, 2, 30]);
  });

  it('exports CSV and JSONL with the same numbers', () => {
    let h: MetricsHistory = { steps: [], series: {} };
    h = appendMetrics(h, 1, { reward: 0.5, 'rewards/my,fn/mean': 1 });
    h = appendMetrics(h, 2, { reward: 0.25 });
    expect(metricsToCsv(h)).toBe('step,reward,"rewards/my,fn/mean"\n1,0.5,1\n2,0.25,\n');
    expect(metricsToJsonl(h)).toBe('{"step":1,"reward":0.5,"rewards/my,fn/mean":1}\n{"step":2,"reward":0.25}\n');
  });
});

describe('app store', () => {
  it('records what the worker reports', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    c.emit({ type: 'state', state: 'loading' });
    c.emit({ type: 'progress', phase: 'load', done: 2, total: 5, message: 'model.safetensors' });
    expect(store.getState().loadProgress).toMatchObject({ done: 2, total: 5 });
    // The session's order: the fallback as a log line, then 'loaded' with the same reason in the report.
    c.emit({ type: 'log', level: 'warn', message: 'no adapter' });
    c.emit({ type: 'loaded', backend: { name: 'wasm', adapter: null, fallbackReason: 'no adapter' }, model: { name: 'tiny', arch: 'llama', params: 1000, vocabSize: 64 }, resumable: true });
    c.emit({ type: 'state', state: 'ready' });
    const s = store.getState();
    expect(s.backend?.name).toBe('wasm');
    expect(s.resumable).toBe(true);
    expect(s.loadProgress).toBeNull();
    // The warning once: the page does not log the report's reason a second time.
    expect(s.logs.map((l) => [l.level, l.message.startsWith('Loaded') ? 'Loaded' : l.message])).toEqual([
      ['warn', 'no adapter'],
      ['info', 'Loaded'],
    ]);

    c.emit({ type: 'metrics', step: 1, metrics: { reward: 1 } });
    c.emit({ type: 'rollouts', step: 1, groups: [] });
    c.emit({ type: 'probes', report: report(0, 0.3) });
    c.emit({ type: 'probes', report: report(5, 0.4) });
    c.emit({ type: 'checkpoint', step: 5, where: 'opfs' });
    expect(store.getState().metrics.steps).toEqual([1]);
    expect(store.getState().timing.firstStepAt).not.toBeNull();
    expect(store.getState().probes.map((p) => p.step)).toEqual([0, 5]);
    // A re-evaluation at an earlier step (after a reset) replaces the later reports.
    c.emit({ type: 'probes', report: report(0, 0.31) });
    expect(store.getState().probes.map((p) => p.plain.acc)).toEqual([0.31]);
    expect(store.getState().checkpoints).toEqual([{ step: 5, where: 'opfs' }]);
  });

  it('files reward errors under the function name and keeps other errors in the list', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    c.emit({ type: 'error', code: 'reward-timeout', message: 'too slow', reward: { name: 'mine', line: 3, column: 5 } });
    c.emit({ type: 'error', code: 'out-of-memory', message: 'out of GPU memory' });
    const s = store.getState();
    expect(s.rewardErrors.mine).toMatchObject({ code: 'reward-timeout', reward: { line: 3, column: 5 } });
    expect(s.errors.map((e) => e.code)).toEqual(['reward-timeout', 'out-of-memory']);
    store.getState().dismissError(s.errors[1]!.id);
    expect(store.getState().errors.map((e) => e.code)).toEqual(['reward-timeout']);
    // Starting again clears stale reward positions (the user may have edited the code).
    store.getState().start();
    expect(store.getState().rewardErrors).toEqual({});
  });

  it('sends typed commands: start carries config, task, rewards and probe cadence', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    store.getState().load({ kind: 'embedded' });
    expect(c.sent).toEqual([{ type: 'load', source: { kind: 'embedded' }, backend: undefined }]);
    expect(store.getState().runState).toBe('loading');
    store.getState().choosePreset('lecture');
    store.getState().setUserRewards([{ name: 'mine', source: '(c) => 1', weight: 2 }]);
    store.getState().setBuiltinWeight('hierarchical', 0);
    store.getState().start();
    const start = c.sent[1]!;
    expect(start.type).toBe('start');
    if (start.type !== 'start') throw new Error('unreachable');
    const lecture = applyPreset('lecture');
    expect(start.config?.learning_rate).toBe(lecture.config.learning_rate);
    expect(start.config?.max_completion_length).toBe(lecture.config.max_completion_length);
    expect(start.rewards).toEqual([{ name: 'mine', source: '(c) => 1', weight: 2 }]);
    expect(start.builtinRewards).toEqual([
      { name: 'correctness', weight: 1 },
      { name: 'format', weight: 0.2 },
    ]);
    expect(start.probeEvery).toBe(lecture.probeEvery);
    expect(start.probeCount).toBe(PRESETS.find((p) => p.id === 'lecture')!.probeCount);
    expect(start.resume).toBe(false);
    expect(start.task).toEqual({ kind: 'toy-world' });
  });

  it('sends each preset\'s probe size, none once a knob leaves the preset, and keeps it through a share link', () => {
    for (const preset of PRESETS) {
      const c = fakeClient();
      const store = createAppStore(c);
      store.getState().choosePreset(preset.id);
      store.getState().start();
      expect(c.sent.at(-1)).toMatchObject({ type: 'start', probeCount: preset.probeCount });

      // What main.tsx does with a link opened in another tab.
      const link = shareLink({ ...store.getState(), lecture: false });
      const other = fakeClient();
      const opened = createAppStore(other);
      const shared = readShareLink(link.hash);
      opened.getState().setSettings({ config: shared.config, probeEvery: shared.probeEvery, preset: shared.preset ?? null });
      opened.getState().start();
      expect(other.sent.at(-1)).toMatchObject({ type: 'start', probeCount: preset.probeCount });
    }
    const c = fakeClient();
    const store = createAppStore(c);
    store.getState().start();
    const plain = c.sent.at(-1)!;
    expect(plain.type === 'start' && 'probeCount' in plain).toBe(false);
    store.getState().choosePreset('lecture');
    store.getState().setConfigValue('learning_rate', 1e-3);
    store.getState().start();
    const edited = c.sent.at(-1)!;
    expect(edited.type === 'start' && 'probeCount' in edited).toBe(false);
  });

  it('resumes a saved run with its own settings and shows them in the form', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    store.getState().choosePreset('lecture');
    store.getState().start({ resume: true });
    // no knobs: the form's (after a reload, a preset's) must not override the saved run's
    expect(c.sent).toEqual([{ type: 'start', resume: true }]);
    c.emit({ type: 'resumed', step: 3, config: { learning_rate: 1e-3, num_generations: 4, prompts_per_step: 2, reward_weights: null }, probeEvery: 3, task: { kind: 'countdown' } });
    const s = store.getState();
    expect(s.config.learning_rate).toBe(1e-3);
    expect(s.config.num_generations).toBe(4);
    expect(s.config.prompts_per_step).toBe(2);
    expect(s.config.beta).toBe(defaultConfig().beta);
    expect(s.probeEvery).toBe(3);
    expect(s.task).toEqual({ kind: 'countdown' });
    expect(s.preset).toBeNull();
  });

  it('pushes a changed knob to a running worker only', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    store.getState().setConfigValue('temperature', 0.7);
    expect(c.sent).toEqual([]);
    expect(store.getState().preset).toBeNull();
    c.emit({ type: 'state', state: 'running' });
    store.getState().setConfigValue('beta', 0.1);
    expect(c.sent).toEqual([{ type: 'setConfig', config: { beta: 0.1 } }]);
  });

  it('reset clears the run history and tells the worker', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    c.emit({ type: 'metrics', step: 1, metrics: { reward: 1 } });
    c.emit({ type: 'probes', report: report(0, 0.3) });
    store.getState().reset();
    expect(store.getState().metrics.steps).toEqual([]);
    expect(store.getState().probes).toEqual([]);
    expect(c.sent).toEqual([{ type: 'reset' }]);
  });

  it('caps the log', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    for (let i = 0; i < MAX_LOG_LINES + 20; i++) c.emit({ type: 'log', level: 'info', message: `line ${i}` });
    const logs = store.getState().logs;
    expect(logs).toHaveLength(MAX_LOG_LINES);
    expect(logs[logs.length - 1]!.message).toBe(`line ${MAX_LOG_LINES + 19}`);
  });
});

describe('first-hour events', () => {
  const plan = { microBatchSize: 32, auto: true, estimatedBytes: 190 * 2 ** 20, limitBytes: 2 ** 31 };

  it('restores the charts, the base probe and the log of a resumed run from its history', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    c.emit({ type: 'loaded', backend: { name: 'wasm', adapter: null, fallbackReason: null }, model: { name: 'tiny', arch: 'llama', params: 1, vocabSize: 2 }, resumable: true });
    store.getState().start({ resume: true });
    c.emit({ type: 'resumed', step: 3, config: {}, probeEvery: 2, task: { kind: 'toy-world' } });
    c.emit({
      type: 'history',
      history: {
        // Out of order on purpose: the store sorts by step.
        metrics: [
          { step: 2, metrics: { reward: 0.2 } },
          { step: 1, metrics: { reward: 0.1, kl: 0.01 } },
          { step: 3, metrics: { reward: 0.3 } },
        ],
        probes: [report(0, 0.3), report(2, 0.35)],
        log: [{ time: 1000, level: 'info', message: 'Started a fresh run.' }],
      },
    });
    let s = store.getState();
    expect(s.metrics.steps).toEqual([1, 2, 3]);
    expect(s.metrics.series.reward).toEqual([0.1, 0.2, 0.3]);
    expect(s.metrics.series.kl).toEqual([0.01, null, null]);
    expect(s.probes.map((p) => p.step)).toEqual([0, 2]);
    expect(s.logs[0]!.message).toBe('Started a fresh run.');
    expect(s.logs.some((l) => l.message.startsWith('Loaded tiny'))).toBe(true);
    // New steps continue the restored charts.
    c.emit({ type: 'metrics', step: 4, metrics: { reward: 0.4 } });
    c.emit({ type: 'probes', report: report(4, 0.4) });
    s = store.getState();
    expect(s.metrics.steps).toEqual([1, 2, 3, 4]);
    expect(s.probes.map((p) => p.step)).toEqual([0, 2, 4]);
  });

  it('lists each checkpointed step once, in order', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    c.emit({ type: 'checkpoint', step: 5, where: 'opfs' });
    c.emit({ type: 'checkpoint', step: 10, where: 'opfs' });
    c.emit({ type: 'checkpoint', step: 10, where: 'opfs (after resume)' });
    c.emit({ type: 'checkpoint', step: 5, where: 'opfs' });
    expect(store.getState().checkpoints).toEqual([
      { step: 5, where: 'opfs' },
      { step: 10, where: 'opfs (after resume)' },
    ]);
  });

  it('keeps the memory plan of the run and forgets it at the next start or load', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    c.emit({ type: 'memoryPlan', plan });
    expect(store.getState().memoryPlan).toEqual(plan);
    store.getState().start();
    expect(store.getState().memoryPlan).toBeNull();
    c.emit({ type: 'memoryPlan', plan });
    store.getState().load({ kind: 'embedded' }, 'wasm');
    expect(store.getState().memoryPlan).toBeNull();
  });

  it('is "starting" from Start until the worker answers, so Start cannot be pressed twice', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    store.getState().start();
    expect(store.getState().starting).toBe(true);
    c.emit({ type: 'progress', phase: 'probe', done: 1, total: 24, message: 'base' });
    expect(store.getState().starting).toBe(false);
    expect(store.getState().activity).toMatchObject({ phase: 'probe', message: 'base' });
    store.getState().start();
    c.emit({ type: 'error', code: 'config', message: 'bad' });
    expect(store.getState().starting).toBe(false);
  });

  it('resumes with the rewards the page has now, and drops the error banners of rewards that changed', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    store.getState().setUserRewards([{ name: 'mine', source: '(c) => { while (true) {} }', weight: 1 }]);
    store.getState().setBuiltinWeight('format', 0);
    c.emit({ type: 'error', code: 'reward', message: 'mine ran too long', reward: { name: 'mine', line: 1 } });
    c.emit({ type: 'error', code: 'non-finite', message: 'loss is NaN' });
    expect(Object.keys(store.getState().rewardErrors)).toEqual(['mine']);
    // Editing the function removes its error; other errors stay.
    store.getState().setUserRewards([{ name: 'mine', source: '(c) => 1', weight: 1 }]);
    expect(store.getState().rewardErrors).toEqual({});
    expect(store.getState().errors.map((e) => e.code)).toEqual(['non-finite']);
    store.getState().resume();
    expect(c.sent.at(-1)).toEqual({ type: 'resume', rewards: [{ name: 'mine', source: '(c) => 1', weight: 1 }], builtinRewards: [{ name: 'correctness', weight: 1 }] });
  });

  it('keeps a reward error while the function is unchanged, and drops it when the function is removed', () => {
    const c = fakeClient();
    const store = createAppStore(c);
    const r = { name: 'mine', source: '(c) => x', weight: 1 };
    store.getState().setUserRewards([r]);
    c.emit({ type: 'error', code: 'reward', message: 'x is not defined', reward: { name: 'mine', line: 1 } });
    store.getState().setUserRewards([{ ...r, weight: 2 }]);
    expect(Object.keys(store.getState().rewardErrors)).toEqual(['mine']);
    store.getState().setUserRewards([]);
    expect(store.getState().rewardErrors).toEqual({});
    expect(store.getState().errors).toEqual([]);
  });
});
