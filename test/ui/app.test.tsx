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
    expect(table.textContent).toContain('Base (step 0) vs now (step 3)');
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
