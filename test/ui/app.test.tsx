// @vitest-environment jsdom
import { afterEach, describe, expect, it, vi } from 'vitest';
import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';

// uPlot needs a real canvas; the charts' data choices are tested in chart-data.test.ts.
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
import { fakeClient } from './fake-client';

function mount() {
  const client = fakeClient();
  const store = createAppStore(client);
  render(
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>,
  );
  return { client, store };
}

function loaded(client: ReturnType<typeof fakeClient>, backend: 'webgpu' | 'wasm' = 'webgpu') {
  act(() => {
    client.emit({ type: 'loaded', backend: { name: backend, adapter: backend === 'webgpu' ? 'llvmpipe' : null, fallbackReason: backend === 'wasm' ? 'No WebGPU adapter was found.' : null }, model: { name: 'http://x/models/tabzero-tiny/', arch: 'llama', params: 4688, vocabSize: 48 }, resumable: true });
    client.emit({ type: 'state', state: 'ready' });
  });
}

afterEach(() => cleanup());

describe('App', () => {
  it('offers the wasm fallback when the browser has no WebGPU', () => {
    const { client } = mount();
    // jsdom has no navigator.gpu, like a browser without WebGPU.
    const banner = screen.getByTestId('webgpu-banner');
    expect(banner.textContent).toMatch(/navigator\.gpu is missing/);
    fireEvent.click(screen.getByRole('button', { name: /WebAssembly/ }));
    expect(client.sent).toEqual([{ type: 'load', source: { kind: 'embedded' }, backend: 'wasm' }]);
  });

  it('shows load progress, then backend and model; start, space and s send commands', () => {
    const { client } = mount();
    act(() => {
      client.emit({ type: 'state', state: 'loading' });
      client.emit({ type: 'progress', phase: 'load', done: 40, total: 100, message: 'model.safetensors' });
    });
    expect(screen.getByTestId('load-progress').textContent).toContain('40%');
    loaded(client);
    expect(screen.queryByTestId('load-progress')).toBeNull();
    expect(screen.getByTestId('backend-badge').textContent).toBe('webgpu · llvmpipe');
    expect(screen.getByText(/tabzero-tiny · 4\.7k params/)).toBeTruthy();
    expect(screen.getByTestId('resume-banner')).toBeTruthy();

    fireEvent.click(screen.getByRole('button', { name: '▶ Start' }));
    expect(client.sent.at(-1)).toMatchObject({ type: 'start', resume: false });
    act(() => client.emit({ type: 'state', state: 'running' }));
    fireEvent.keyDown(window, { key: ' ' });
    expect(client.sent.at(-1)).toEqual({ type: 'pause' });
    act(() => client.emit({ type: 'state', state: 'paused' }));
    fireEvent.keyDown(window, { key: 's' });
    expect(client.sent.at(-1)).toEqual({ type: 'step' });
  });

  it('draws a chart per metric group as steps arrive, and the base-vs-now table from probes', async () => {
    const { client } = mount();
    loaded(client);
    expect(screen.getByText(/No steps yet/)).toBeTruthy();
    act(() => {
      for (let s = 1; s <= 3; s++) client.emit({ type: 'metrics', step: s, metrics: { reward: s / 10, reward_std: 0.1, kl: 0.01 * s } });
    });
    expect(screen.getByTestId('chart-reward').getAttribute('data-points')).toBe('3');
    expect(screen.getByTestId('chart-kl')).toBeTruthy();
    const sc = (acc: number) => ({ acc, lo: acc - 0.05, hi: acc + 0.05, n: 100 });
    act(() => {
      client.emit({ type: 'probes', report: { step: 0, plain: sc(0.4), plan: sc(0.35), knowledge: sc(0.36), subproblems: sc(0.1), planEffect: -0.05, knowledgeEffect: -0.04 } });
      client.emit({ type: 'probes', report: { step: 3, plain: sc(0.5), plan: sc(0.52), knowledge: sc(0.56), subproblems: sc(0.2), planEffect: 0.02, knowledgeEffect: 0.06 } });
    });
    const table = screen.getByTestId('base-vs-now');
    expect(table.textContent).toContain('Base (step 0, greedy) vs now (step 3, greedy)');
    const knowledgeRow = screen.getByText('Knowledge effect').closest('tr')!;
    expect(Array.from(knowledgeRow.querySelectorAll('td')).map((td) => td.textContent)).toEqual(['-4.0', '+6.0', '+10.0', '-5.4', '+4.3']);
  });

  it('shows a syntax error at its line in the reward editor, and a worker error at its line', () => {
    const { client } = mount();
    loaded(client);
    fireEvent.click(screen.getByRole('tab', { name: 'Reward' }));
    fireEvent.click(screen.getByRole('button', { name: '+ Add reward function' }));
    const editor = screen.getByLabelText('source of reward my_reward_1');
    fireEvent.change(editor, { target: { value: '(c, p) => {\n  return c.length +;\n}' } });
    expect(screen.getByTestId('reward-error').textContent).toMatch(/^Line 2: /);
    expect((screen.getByRole('button', { name: '▶ Start' }) as HTMLButtonElement).disabled).toBe(true);

    fireEvent.change(editor, { target: { value: '(c, p) => {\n  while (true) {}\n}' } });
    expect(screen.queryByTestId('reward-error')).toBeNull();
    act(() => client.emit({ type: 'error', code: 'reward', message: 'my_reward_1 ran longer than 100 ms and was stopped', reward: { name: 'my_reward_1', line: 2, column: 3 } }));
    expect(screen.getByTestId('reward-error').textContent).toMatch(/^Line 2, column 3: my_reward_1 ran longer/);
    expect(screen.getByTestId('reward-error-notice')).toBeTruthy();
  });

  it('lists rollouts tinted by advantage, filters by reward and opens a breakdown', () => {
    const { client } = mount();
    loaded(client);
    act(() =>
      client.emit({
        type: 'rollouts',
        step: 4,
        groups: [
          {
            problemId: 'p1',
            prompt: 'How many jars?',
            completions: [
              { text: '<answer>16</answer>', tokens: ['<answer>', '16', '</answer>'], reward: 1, rewards: { correctness: 1, format: 0 }, advantage: 0.87, finish: 'stop' },
              { text: '<answer>3</answer>', tokens: ['<answer>', '3', '</answer>'], reward: 0, rewards: { correctness: 0, format: null }, advantage: -0.87, finish: 'length' },
            ],
          },
        ],
      }),
    );
    fireEvent.click(screen.getByRole('tab', { name: 'Rollouts' }));
    const rows = screen.getAllByTestId('completion');
    expect(rows).toHaveLength(2);
    const tint = (row: HTMLElement) => (row.querySelector('.tokens span') as HTMLElement).style.background;
    expect(tint(rows[0]!)).toContain('63, 185, 80');
    expect(tint(rows[1]!)).toContain('248, 81, 73');
    fireEvent.change(screen.getByLabelText('minimum reward'), { target: { value: '0.5' } });
    expect(screen.getAllByTestId('completion')).toHaveLength(1);
    fireEvent.click(screen.getAllByTestId('completion')[0]!);
    const dialog = screen.getByRole('dialog', { name: 'Reward breakdown' });
    expect(dialog.textContent).toContain('correctness1.000');
    expect(dialog.textContent).toContain('advantage0.870');
  });
});

describe('first-hour UI', () => {
  const report = (step: number, plain: number, hints = true) => {
    const sc = (acc: number, n = 96) => ({ acc, lo: acc - 0.05, hi: acc + 0.05, n });
    const none = { acc: 0, lo: 0, hi: 0, n: 0 };
    return { step, plain: sc(plain), plan: hints ? sc(plain - 0.05) : none, knowledge: hints ? sc(plain - 0.04) : none, subproblems: sc(plain / 2), planEffect: hints ? -0.05 : 0, knowledgeEffect: hints ? -0.04 : 0 };
  };

  it('shows every phase with working Pause and Stop, and no second Start while the base model is probed', () => {
    const { client } = mount();
    loaded(client);
    const start = () => screen.getByRole('button', { name: '▶ Start' }) as HTMLButtonElement;
    const pause = () => screen.getByRole('button', { name: '❚❚ Pause' }) as HTMLButtonElement;
    const stop = () => screen.getByRole('button', { name: '■ Stop' }) as HTMLButtonElement;
    fireEvent.click(start());
    // Before the worker answers: Start is off, Pause and Stop are on.
    expect(start().disabled).toBe(true);
    expect(pause().disabled).toBe(false);
    expect(screen.getByTestId('activity').textContent).toBe('starting…');
    const phases: [Parameters<typeof client.emit>[0], string][] = [
      [{ type: 'progress', phase: 'probe', done: 3, total: 24, message: 'base' }, 'probing base 3/24'],
      [{ type: 'progress', phase: 'rollout', done: 2, total: 8 }, 'rollout 2/8'],
      [{ type: 'progress', phase: 'update', done: 1, total: 4 }, 'update 1/4'],
      [{ type: 'progress', phase: 'probe', done: 5, total: 24 }, 'probing 5/24'],
      [{ type: 'progress', phase: 'save', done: 0, total: 1 }, 'saving'],
    ];
    act(() => client.emit({ type: 'state', state: 'running' }));
    for (const [event, text] of phases) {
      act(() => client.emit(event));
      expect(screen.getByTestId('activity').textContent).toBe(text);
      expect(screen.getByTestId('run-state').textContent).toBe('Training');
      expect(start().disabled).toBe(true);
      expect(pause().disabled).toBe(false);
      expect(stop().disabled).toBe(false);
    }
    fireEvent.click(pause());
    expect(client.sent.at(-1)).toEqual({ type: 'pause' });
    fireEvent.click(stop());
    expect(client.sent.at(-1)).toEqual({ type: 'stop' });
  });

  it('colours the backend badge green only for a hardware GPU, says why in one line, shows the measurement and switches backend', () => {
    const { client } = mount();
    const timings = [
      { name: 'webgpu' as const, ms: 412 },
      { name: 'wasm' as const, ms: 23 },
      { name: 'cpu' as const, ms: null, error: 'skipped' },
    ];
    const why = 'WebGPU adapter is a software renderer (SwiftShader): wasm is 18× faster here.';
    act(() => {
      client.emit({ type: 'loaded', backend: { name: 'wasm', adapter: null, fallbackReason: null, timings, why }, model: { name: 'm', arch: 'llama', params: 1, vocabSize: 2 }, resumable: false });
      client.emit({ type: 'state', state: 'ready' });
    });
    const badge = screen.getByTestId('backend-badge');
    expect(badge.textContent).toContain('wasm');
    expect(badge.getAttribute('data-kind')).toBe('cpu');
    expect(badge.className).not.toContain('backend-gpu');
    expect(screen.getByTestId('backend-why').textContent).toBe(why);
    expect(badge.getAttribute('title')).toContain('webgpu: 412 ms · wasm: 23 ms · cpu: could not run (skipped)');
    fireEvent.click(badge);
    expect(screen.getByTestId('backend-timings').textContent).toContain('wasm: 23 ms');
    fireEvent.click(screen.getByRole('button', { name: 'Reload on webgpu' }));
    expect(client.sent.at(-1)).toEqual({ type: 'load', source: { kind: 'embedded' }, backend: 'webgpu' });

    act(() => client.emit({ type: 'loaded', backend: { name: 'webgpu', adapter: 'google / swiftshader', fallbackReason: null, softwareAdapter: true }, model: { name: 'm', arch: 'llama', params: 1, vocabSize: 2 }, resumable: false }));
    expect(screen.getByTestId('backend-badge').getAttribute('data-kind')).toBe('software-gpu');
    expect(screen.getByTestId('backend-badge').textContent).toContain('webgpu');
    expect(screen.getByTestId('backend-why').textContent).toMatch(/software renderer/);

    act(() => client.emit({ type: 'loaded', backend: { name: 'webgpu', adapter: 'nvidia / ampere', fallbackReason: null, softwareAdapter: false, why: 'WebGPU on a hardware GPU: 30× faster than wasm here.' }, model: { name: 'm', arch: 'llama', params: 1, vocabSize: 2 }, resumable: false }));
    expect(screen.getByTestId('backend-badge').getAttribute('data-kind')).toBe('gpu');
    expect(screen.getByTestId('backend-badge').className).toContain('backend-gpu');
  });

  it('shows the micro_batch_size the run uses and its memory estimate', () => {
    const { client, store } = mount();
    loaded(client);
    act(() => store.getState().setConfigValue('micro_batch_size', 0));
    expect(screen.getByTestId('micro-batch-size').textContent).toBe('auto (chosen at Start to fit memory)');
    act(() => client.emit({ type: 'memoryPlan', plan: { microBatchSize: 32, auto: true, estimatedBytes: 190 * 2 ** 20, limitBytes: 2 * 2 ** 30 } }));
    expect(screen.getByTestId('micro-batch-size').textContent).toBe('auto → 32');
    expect(screen.getByTestId('memory-estimate').textContent).toContain('estimated peak 190 MB of 2.0 GB (9%)');
    act(() => client.emit({ type: 'memoryPlan', plan: { microBatchSize: 8, auto: false, estimatedBytes: 1e6, limitBytes: 2e6 } }));
    expect(screen.getByTestId('micro-batch-size').textContent).toBe('8 (as set)');
  });

  it('projector view: no sidebar, the charts and the base-vs-now table, controls in the top bar', () => {
    const { client } = mount();
    loaded(client);
    act(() => {
      client.emit({ type: 'probes', report: report(0, 0.31) });
      client.emit({ type: 'metrics', step: 1, metrics: { reward: 0.4, bytes: 1e6, 'completions/mean_length': 40 } });
      client.emit({ type: 'probes', report: report(5, 0.45) });
    });
    expect(screen.getByText('GRPO settings (TRL names)')).toBeTruthy();
    fireEvent.click(screen.getByTestId('lecture-toggle'));
    expect(screen.queryByText('GRPO settings (TRL names)')).toBeNull();
    expect(document.documentElement.dataset.lecture).toBe('on');
    expect(screen.getByTestId('base-vs-now').textContent).toContain('Base (step 0, greedy) vs now (step 5, greedy)');
    expect(screen.getByTestId('probe-panel').getAttribute('data-reports')).toBe('2');
    expect(screen.getByTestId('chart-reward').getAttribute('data-points')).toBe('1');
    expect((screen.getByLabelText('Other metric') as HTMLSelectElement).value).toBe('completions/mean_length');
    expect(screen.getByTestId('run-state').textContent).toBe('Ready');
    expect(screen.getByTestId('activity')).toBeTruthy();
    fireEvent.click(screen.getByTestId('lecture-toggle'));
    expect(screen.getByText('GRPO settings (TRL names)')).toBeTruthy();
  });

  it('shows n/a for +plan and +knowledge when the data set has neither', () => {
    const { client } = mount();
    loaded(client);
    act(() => {
      client.emit({ type: 'probes', report: report(0, 0.3, false) });
      client.emit({ type: 'probes', report: report(5, 0.4, false) });
    });
    const cells = (label: string) => Array.from(screen.getByText(label).closest('tr')!.querySelectorAll('td')).map((td) => td.textContent);
    expect(cells('With plan').slice(0, 3)).toEqual(['n/a', 'n/a', '—']);
    expect(cells('Knowledge effect').slice(0, 3)).toEqual(['n/a', 'n/a', '—']);
    expect(cells('Plain accuracy').slice(0, 3)).toEqual(['30.0', '40.0', '+10.0']);
  });

  it('shows an error banner only while the error stands', () => {
    const { client, store } = mount();
    loaded(client);
    expect(screen.queryByTestId('error-banner')).toBeNull();
    act(() => client.emit({ type: 'error', code: 'out-of-memory', message: 'Set micro_batch_size to 8.' }));
    expect(screen.getByTestId('error-banner').textContent).toContain('micro_batch_size to 8');
    act(() => store.getState().start());
    expect(screen.queryByTestId('error-banner')).toBeNull();
    expect(store.getState().logs.some((l) => l.message.includes('micro_batch_size to 8'))).toBe(true);
  });

  it('takes the old reward error away when the function changes', () => {
    const { client, store } = mount();
    loaded(client);
    act(() => store.getState().setUserRewards([{ name: 'mine', source: '(c) => { while (true) {} }', weight: 1 }]));
    act(() => client.emit({ type: 'error', code: 'reward', message: 'mine ran longer than 1000 ms', reward: { name: 'mine', line: 1 } }));
    expect(screen.getByTestId('reward-error-notice')).toBeTruthy();
    fireEvent.click(screen.getByRole('tab', { name: 'Reward' }));
    fireEvent.change(screen.getByLabelText('source of reward mine'), { target: { value: '(c) => 1' } });
    expect(screen.queryByTestId('reward-error-notice')).toBeNull();
    expect(screen.queryByTestId('reward-error')).toBeNull();
  });
});

describe('Keep & export', () => {
  it('names the embedded model by its folder for TRL and downloads the script with the dataset', () => {
    const { client } = mount();
    loaded(client);
    const urls: Blob[] = [];
    const create = vi.fn((b: Blob) => {
      urls.push(b);
      return `blob:${urls.length}`;
    });
    const oldCreate = URL.createObjectURL;
    const oldRevoke = URL.revokeObjectURL;
    URL.createObjectURL = create as unknown as typeof URL.createObjectURL;
    URL.revokeObjectURL = () => undefined;
    const names: string[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      names.push(this.download);
    });
    try {
      fireEvent.click(screen.getByRole('tab', { name: 'Keep & export' }));
      const input = screen.getByTestId('trl-model') as HTMLInputElement;
      // The model was loaded from http://x/models/tabzero-tiny/: the script must not say "./http://…".
      expect(input.value).toBe('./tabzero-tiny');
      fireEvent.click(screen.getByTestId('export-trl'));
      expect(names).toEqual(['tabzero_grpo_trl.py', 'tabzero-toy-world-train.jsonl']);
      expect(screen.getByTestId('trl-note').textContent).toMatch(/2000 problems/);
      fireEvent.change(input, { target: { value: 'http://127.0.0.1:5303/models/tabzero-tiny/' } });
      fireEvent.click(screen.getByTestId('export-trl'));
      expect(screen.getByTestId('trl-note').textContent).toMatch(/is an address, not a folder/);
      expect(names).toHaveLength(2);
    } finally {
      click.mockRestore();
      URL.createObjectURL = oldCreate;
      URL.revokeObjectURL = oldRevoke;
    }
  });
});
