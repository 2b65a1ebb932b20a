import { describe, expect, it } from 'vitest';
import { applyPreset, defaultConfig } from '../../src/ui/config-schema';
import { fromBase64Url, MAX_INLINE_TASK_CHARS, readShareLink, shareLink, toBase64Url, type ShareState } from '../../src/ui/share-link';

const base: ShareState = {
  config: applyPreset('lecture').config,
  probeEvery: applyPreset('lecture').probeEvery,
  preset: 'lecture',
  task: { kind: 'toy-world' },
  userRewards: [],
  builtinRewards: [
    { name: 'correctness', weight: 1 },
    { name: 'format', weight: 0.2 },
    { name: 'hierarchical', weight: 0 },
  ],
  lecture: false,
};

describe('share links', () => {
  it('carry settings, task, reward functions with weights, built-in weights and the projector view', () => {
    const jsonl = '{"question":"2 + 3 = ?","answer":"5"}\n{"question":"Wie viele Äpfel? 🍎","answer":"#### 1,072"}\n';
    const state: ShareState = {
      ...base,
      config: { ...base.config, learning_rate: 3e-5, max_completion_length: 48 },
      probeEvery: 7,
      task: { kind: 'jsonl', name: 'my data.jsonl', text: jsonl },
      userRewards: [
        { name: 'short', weight: 0.5, source: "(c, p) => c.length < 60 ? 1 : 0 // ünïcode & = # ?" },
        { name: 'exact', weight: -1, source: 'function (c, p) {\n  return c.includes(p.answer) ? 1 : 0;\n}' },
      ],
      builtinRewards: [
        { name: 'correctness', weight: 0 },
        { name: 'format', weight: 0.2 },
        { name: 'hierarchical', weight: 1 },
      ],
      lecture: true,
    };
    const { hash, note } = shareLink(state);
    expect(note).toBeNull();
    const back = readShareLink(hash);
    expect(back.errors).toEqual([]);
    expect(back.config).toEqual(state.config);
    expect(back.probeEvery).toBe(7);
    expect(back.preset).toBe('lecture');
    expect(back.task).toEqual(state.task);
    expect(back.userRewards).toEqual(state.userRewards);
    expect(back.builtinRewards).toEqual(state.builtinRewards);
    expect(back.lecture).toBe(true);
  });

  it('stays short when nothing differs from the preset', () => {
    expect(shareLink(base).hash).toBe('#preset=lecture');
    const back = readShareLink('#preset=lecture');
    expect(back.task).toBeUndefined();
    expect(back.userRewards).toBeUndefined();
    expect(back.builtinRewards).toBeUndefined();
    expect(back.lecture).toBe(false);
  });

  it('carries the toy world difficulty and Countdown, and reads links made before tasks had options', () => {
    expect(readShareLink(shareLink({ ...base, task: { kind: 'toy-world', difficulty: 3 } }).hash).task).toEqual({ kind: 'toy-world', difficulty: 3 });
    expect(readShareLink(shareLink({ ...base, task: { kind: 'countdown' } }).hash).task).toEqual({ kind: 'countdown' });
    const old = readShareLink('#learning_rate=0.0003&task=countdown');
    expect(old.task).toEqual({ kind: 'countdown' });
    expect(old.config.learning_rate).toBe(3e-4);
    expect(old.config.beta).toBe(defaultConfig().beta);
  });

  it('names a large data set without carrying it, and says so on both ends', () => {
    const big = Array.from({ length: 400 }, (_, i) => JSON.stringify({ question: `What is ${i} + 1?`, answer: String(i + 1) })).join('\n');
    expect(big.length).toBeGreaterThan(MAX_INLINE_TASK_CHARS);
    const { hash, note } = shareLink({ ...base, task: { kind: 'jsonl', name: 'big.jsonl', text: big } });
    expect(note).toMatch(/big\.jsonl .*too large for a link/);
    expect(hash).not.toContain('task_data');
    const back = readShareLink(hash);
    expect(back.task).toBeUndefined();
    expect(back.taskNote).toMatch(/names the data set big\.jsonl but does not carry it/);
  });

  it('keeps the good part of a damaged link and says what it ignored', () => {
    const good = toBase64Url(JSON.stringify(['ok', 1, '(c) => 1']));
    const back = readShareLink(`#reward=${good}&reward=%%%&builtin=format:0.5,bogus:1,hierarchical:&task=chess&beta=lots`);
    expect(back.userRewards).toEqual([{ name: 'ok', weight: 1, source: '(c) => 1' }]);
    expect(back.builtinRewards).toEqual([{ name: 'format', weight: 0.5 }]);
    expect(back.errors.map((e) => e.field).sort()).toEqual(['beta', 'builtin', 'builtin', 'reward', 'task']);
  });

  it('encodes text as URL-safe base64 of UTF-8', () => {
    for (const t of ['', 'a', 'ab', 'abc', '€ 🍎 \n "quoted" +/=']) expect(fromBase64Url(toBase64Url(t))).toBe(t);
    expect(toBase64Url('???>>>')).toMatch(/^[A-Za-z0-9_-]*$/);
  });
});
