// @vitest-environment jsdom
/**
 * The Experiments view against a fake worker: it starts a run with the recipe's quick size, shows
 * the progress the worker reports, renders the table after each arm, sends Stop, and keeps the
 * finished arms' table once the run has stopped. The live probes say which mode they measured in.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';

vi.mock('uplot', () => {
  class FakePlot {
    static rangeNum = (min: number, max: number) => [min, max];
    root = document.createElement('div');
    constructor(_opts: unknown, _data: unknown, el: HTMLElement) {
      el.appendChild(this.root);
    }
    setData() {}
    setSize() {}
    destroy() {
      this.root.remove();
    }
  }
  return { default: FakePlot };
});
vi.mock('uplot/dist/uPlot.min.css', () => ({}));

import { App } from '../../src/ui/App';
import { createAppStore } from '../../src/ui/store';
import { StoreContext } from '../../src/ui/store-context';
import { toRecord } from '../../src/worker/session-experiment';
import type { ExperimentResult, ArmRun } from '../../src/core/experiments/runner';
import type { ProbeReport } from '../../src/worker/protocol';
import { recipeSize, RECIPES } from '../../src/core/experiments/recipes';
import { fakeClient } from '../ui/fake-client';

function mount() {
  const client = fakeClient();
  const store = createAppStore(client);
  render(
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>,
  );
  act(() => {
    client.emit({ type: 'loaded', backend: { name: 'wasm', adapter: null, fallbackReason: null }, model: { name: 'tabzero-tiny', arch: 'llama', params: 4688, vocabSize: 48 }, resumable: false });
    client.emit({ type: 'state', state: 'ready' });
  });
  return { client, store };
}

const score = { acc: 0.5, lo: 0.1, hi: 0.9, n: 4 };
function report(mode: 'greedy' | 'avg@k', step = 0): ProbeReport {
  return { step, plain: score, plan: score, knowledge: score, subproblems: score, planEffect: 0, knowledgeEffect: 0, mode, samples: mode === 'greedy' ? 1 : 8, temperature: mode === 'greedy' ? 0 : 0.6 };
}

function run(arm: string, seed: number, plain: number[]): ArmRun {
  const rows = { plain, plan: plain.map(() => null), knowledge: plain.map(() => null), subproblems: plain.map((x) => x / 2) };
  return { arm, seed, sampled: report('avg@k'), sampledRows: rows, greedy: report('greedy'), greedyRows: rows, trainReward: [], seconds: 1 };
}

function result(runs: ArmRun[], complete = false): ExperimentResult {
  const r = RECIPES.decomposition;
  return {
    experiment: 'decomposition',
    title: r.title,
    question: r.question,
    paper: r.paper,
    arms: r.arms.map((a) => ({ id: a.id, label: a.label })),
    settings: { seeds: [1], steps: 4, stage2Steps: 0, probeN: 4, probeSamples: 4, probeTemperature: 0.6, probeSeed: 1234, grpo: {}, task: { kind: 'toy-world' }, backend: 'wasm' },
    runs,
    started: '2026-12-06T15:00:00.000Z',
    complete,
  };
}

const ID = 'decomposition-2026-12-06T15-00-00-000Z';

afterEach(() => cleanup());

describe('Experiments view', () => {
  it('starts a recipe, shows progress and the table after each arm; Stop keeps the finished arms', () => {
    const { client } = mount();
    fireEvent.click(screen.getByRole('tab', { name: 'Experiments' }));
    expect(client.sent).toContainEqual({ type: 'experimentList' });
    fireEvent.change(screen.getByLabelText('Recipe'), { target: { value: 'decomposition' } });
    // The quick size is prefilled; the user makes it two probe problems more.
    expect((screen.getByLabelText('seeds') as HTMLInputElement).value).toBe('1');
    fireEvent.change(screen.getByLabelText('probe problems'), { target: { value: '14' } });
    fireEvent.click(screen.getByTestId('experiment-start'));
    expect(client.sent.at(-1)).toEqual({ type: 'experimentStart', name: 'decomposition', size: { ...recipeSize('decomposition', 'quick'), probeN: 14 }, task: { kind: 'toy-world' } });

    act(() => {
      client.emit({ type: 'experiment', record: toRecord({ id: ID, status: 'running', result: result([]) }) });
      client.emit({ type: 'experimentProgress', id: ID, phase: { arm: 'base', seed: 1, phase: 'probe', done: 32, total: 96, runsDone: 0, runsTotal: 2 } });
    });
    const rec = screen.getByTestId('experiment-record');
    expect(rec.dataset.status).toBe('running');
    expect(within(rec).getByTestId('experiment-progress').textContent).toMatch(/base model, seed 1: probing, 32 of 96 completions · 0 of 2 arm runs done/);
    expect(within(rec).queryByTestId('experiment-table')).toBeNull();
    // Another run cannot start meanwhile.
    expect((screen.getByTestId('experiment-start') as HTMLButtonElement).disabled).toBe(true);

    act(() => {
      client.emit({ type: 'experiment', record: toRecord({ id: ID, status: 'running', result: result([run('base', 1, [1, 0, 1, 0])]) }) });
      client.emit({ type: 'experimentProgress', id: ID, phase: { arm: 'rl-plain', seed: 1, phase: 'train', done: 2, total: 4, runsDone: 1, runsTotal: 2 } });
    });
    expect(within(rec).getByTestId('experiment-progress').textContent).toMatch(/RL on plain prompts, seed 1: training, step 3 of 4 · 1 of 2 arm runs done/);
    const rows = within(within(rec).getByTestId('experiment-table')).getAllByRole('row');
    expect(rows).toHaveLength(2);
    // plain Avg@k over 4 problems, 2 right: 50.0 with an interval.
    const cells = within(rows[1]!).getAllByRole('cell').map((c) => c.textContent);
    expect(cells.slice(0, 2)).toEqual(['base model', '1']);
    expect(cells[2]).toMatch(/^50\.0 \(\d+\.\d to \d+\.\d\)$/);
    expect(rec.querySelector('.experiment-plot svg')).not.toBeNull();

    fireEvent.click(within(rec).getByRole('button', { name: 'Stop' }));
    expect(client.sent.at(-1)).toEqual({ type: 'experimentStop' });
    act(() => client.emit({ type: 'experiment', record: toRecord({ id: ID, status: 'stopped', result: result([run('base', 1, [1, 0, 1, 0])]) }) }));
    const stopped = screen.getByTestId('experiment-record');
    expect(stopped.dataset.status).toBe('stopped');
    expect(within(stopped).queryByTestId('experiment-progress')).toBeNull();
    expect(within(within(stopped).getByTestId('experiment-table')).getAllByRole('row')).toHaveLength(2);
    expect(stopped.textContent).toMatch(/Incomplete run: only these arms finished/);
    expect((screen.getByTestId('experiment-start') as HTMLButtonElement).disabled).toBe(false);
    // Continue runs what did not finish, with the stored run's own settings.
    fireEvent.click(within(stopped).getByRole('button', { name: 'Continue' }));
    expect(client.sent.at(-1)).toEqual({ type: 'experimentStart', name: 'decomposition', size: { seeds: 1, steps: 4, stage2Steps: 0, probeN: 4, samples: 4 }, task: { kind: 'toy-world' }, grpo: {}, continueId: ID });
    // The continued run comes back under the same id: its Stop works again.
    act(() => client.emit({ type: 'experiment', record: toRecord({ id: ID, status: 'running', result: result([run('base', 1, [1, 0, 1, 0])]) }) }));
    const again = within(screen.getByTestId('experiment-record')).getByRole('button', { name: 'Stop' }) as HTMLButtonElement;
    expect(again.disabled).toBe(false);
    fireEvent.click(again);
    expect(client.sent.at(-1)).toEqual({ type: 'experimentStop' });
  });

  it('lists stored experiments after a reload and refuses to start while a training run is active', () => {
    const { client } = mount();
    act(() => client.emit({ type: 'state', state: 'running' }));
    fireEvent.click(screen.getByRole('tab', { name: 'Experiments' }));
    act(() => client.emit({ type: 'experiments', records: [toRecord({ id: ID, status: 'complete', result: result([run('base', 1, [1, 1, 0, 0]), run('rl-plain', 1, [1, 1, 1, 0])], true) })] }));
    expect(screen.getByTestId('experiment-record').dataset.status).toBe('complete');
    expect(within(screen.getByTestId('experiment-table')).getAllByRole('row')).toHaveLength(3);
    expect((screen.getByTestId('experiment-start') as HTMLButtonElement).disabled).toBe(true);
    expect(screen.getByTestId('experiment-blocked').textContent).toMatch(/training run is active: stop it first/);
    // A refusal from the worker clears "Starting…".
    act(() => client.emit({ type: 'state', state: 'ready' }));
    fireEvent.click(screen.getByTestId('experiment-start'));
    act(() => client.emit({ type: 'error', code: 'busy', message: 'A training run is running. Stop it first.' }));
    expect(screen.getByTestId('experiment-start').textContent).toBe('Run experiment');
  });

  it('live probes: Avg@8 is a setting sent with Start, and each figure says its mode', () => {
    const { client } = mount();
    fireEvent.change(screen.getByLabelText(/probe_mode/), { target: { value: 'avg@k' } });
    fireEvent.click(screen.getByRole('button', { name: /▶ Start/ }));
    expect(client.sent.find((c) => c.type === 'start')).toMatchObject({ probeMode: 'avg@k' });
    act(() => {
      client.emit({ type: 'probes', report: report('greedy', 0) });
      client.emit({ type: 'probes', report: report('avg@k', 10) });
    });
    expect(screen.getByTestId('base-vs-now').querySelector('caption')!.textContent).toMatch(/Base \(step 0, greedy\) vs now \(step 10, Avg@8 at T = 0\.6\)/);
    expect(screen.getByTestId('probe-mode').textContent).toBe('Measured greedy and Avg@8 at T = 0.6');
    // A resumed run measures as it did when saved; the setting shows that.
    act(() => client.emit({ type: 'resumed', step: 3, config: {}, probeEvery: 2, task: { kind: 'toy-world' }, probeMode: 'greedy' }));
    expect((screen.getByLabelText(/probe_mode/) as HTMLSelectElement).value).toBe('greedy');
    act(() => client.emit({ type: 'resumed', step: 3, config: {}, probeEvery: 2, task: { kind: 'toy-world' }, probeMode: 'avg@k' }));
    expect((screen.getByLabelText(/probe_mode/) as HTMLSelectElement).value).toBe('avg@k');
  });
});
