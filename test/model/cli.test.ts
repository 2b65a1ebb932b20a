import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli/main';
import { writeTinyModel } from '../fixtures/tiny-model';
import { loadModel } from '../../src/core/model/load';
import { initNodeBackend } from '../../src/cli/node-webgpu';

function capture() {
  let out = '';
  let err = '';
  vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => {
    out += String(s);
    return true;
  });
  vi.spyOn(console, 'error').mockImplementation((...a: unknown[]) => {
    err += a.join(' ') + '\n';
  });
  vi.spyOn(console, 'log').mockImplementation((...a: unknown[]) => {
    out += a.join(' ') + '\n';
  });
  return { out: () => out, err: () => err };
}

afterEach(() => vi.restoreAllMocks());

describe('tabzero CLI', () => {
  const dir = writeTinyModel('qwen2', { seed: 8 });

  it('logits prints ids and logits equal to the engine forward', async () => {
    const io = capture();
    expect(await main(['logits', '--model', dir, '--text', 'ab 1', '--backend', 'cpu'])).toBe(0);
    const printed = JSON.parse(io.out()) as { ids: number[]; logits: number[][] };
    vi.restoreAllMocks();
    expect(printed.ids).toEqual([1, 5, 6, 4, 32]);
    expect(printed.logits.length).toBe(5);
    await initNodeBackend('cpu');
    const { model } = await loadModel({ kind: 'dir', path: dir });
    const { logits } = model.forward({ ids: Int32Array.from(printed.ids), batch: 1, length: 5, positions: Int32Array.of(0, 1, 2, 3, 4), attentionMask: Int32Array.of(1, 1, 1, 1, 1) });
    expect(printed.logits.flat()).toEqual(Array.from(logits.dataSync()));
    logits.dispose();
    model.dispose();
  });

  it('generate prints a greedy completion, reproducibly', async () => {
    let io = capture();
    expect(await main(['generate', '--model', dir, '--prompt', 'ab', '--max-new-tokens', '6', '--backend', 'cpu'])).toBe(0);
    const first = io.out();
    vi.restoreAllMocks();
    io = capture();
    expect(await main(['generate', '--model', dir, '--prompt', 'ab', '--max-new-tokens', '6', '--backend', 'wasm'])).toBe(0);
    expect(io.out()).toBe(first);
    expect(first.trim().length).toBeGreaterThan(0);
  });

  it('typed errors print one line and exit 1', async () => {
    const io = capture();
    expect(await main(['generate', '--model', '/nonexistent-dir', '--prompt', 'x', '--backend', 'cpu'])).toBe(1);
    expect(io.err()).toMatch(/^error: \/nonexistent-dir has no config\.json/);
    expect(io.err().trim().split('\n').length).toBe(1);
    expect(await main(['generate', '--model', dir, '--max-new-tokens', 'x'])).toBe(1);
    expect(io.err()).toMatch(/--max-new-tokens needs an integer/);
    expect(await main(['nope'])).toBe(1);
    expect(io.err()).toMatch(/unknown command "nope"/);
  });
});
