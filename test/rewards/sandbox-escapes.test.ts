/**
 * Hostile reward code in the QuickJS sandbox under Node (the CLI's environment): every escape the
 * issue lists, and the caps. Each attempt must fail with a RewardError that names the function,
 * leave the host untouched (no file written, process alive, env not read), and leave the sandbox
 * usable afterwards.
 */
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Problem } from '../../src/core/types';
import { RewardError, runRewards } from '../../src/core/rewards/runner';
import { createSandboxedReward, type SandboxedRewardFunction } from '../../src/core/rewards/sandbox';
import { GRPOTrainer } from '../../src/core/grpo/trainer';
import { charTokenizer, renderWord, tinyModel, wordSource } from '../grpo/helpers';

const P: Problem = { id: 'p1', task: 'test', question: 'q', answer: '42' };
const dir = mkdtempSync(join(tmpdir(), 'tabzero-escape-'));
const target = join(dir, 'pwned.txt');
const made: SandboxedRewardFunction[] = [];

async function make(source: string, opts: { timeLimitMs?: number; memoryLimitBytes?: number } = {}): Promise<SandboxedRewardFunction> {
  const s = await createSandboxedReward({ name: 'hostile', source }, { timeLimitMs: 300, ...opts });
  made.push(s);
  return s;
}

/** Score one completion; the RewardError when it fails. */
async function attempt(s: SandboxedRewardFunction, completion = 'a'): Promise<{ ok: true; value: number } | { ok: false; error: RewardError }> {
  try {
    const r = await runRewards([s], [1], [completion], [P]);
    return { ok: true, value: r.rewards[0]! };
  } catch (e) {
    expect(e).toBeInstanceOf(RewardError);
    return { ok: false, error: e as RewardError };
  }
}

beforeAll(() => {
  process.env.TABZERO_SECRET_FOR_TEST = 'hunter2';
});

afterAll(() => {
  made.forEach((s) => s.dispose());
  rmSync(dir, { recursive: true, force: true });
  delete process.env.TABZERO_SECRET_FOR_TEST;
});

const P_JSON = JSON.stringify(target);

/** Each source tries to reach the host; none may succeed. */
const ESCAPES: [string, string][] = [
  ['process', '() => process.exit(3)'],
  ['process.env', '() => process.env.TABZERO_SECRET_FOR_TEST.length'],
  ['process.getBuiltinModule', `() => { process.getBuiltinModule('fs').writeFileSync(${P_JSON}, 'x'); return 1; }`],
  ['globalThis.process via Function', `() => Function('return globalThis.process')().getBuiltinModule('fs').writeFileSync(${P_JSON}, 'x')`],
  ['module.require', `() => module.require('child_process').execSync('touch ' + ${P_JSON})`],
  ['require(http)', `() => { require('http').get('http://127.0.0.1:1/'); return 1; }`],
  ['process.kill', "() => { process.kill(process.pid, 'SIGKILL'); return 1; }"],
  ['the Function constructor reaching the host global', "() => { const g = (() => {}).constructor.constructor('return this')(); return g.process.pid; }"],
  ['eval reaching require', "() => eval('require')('fs')"],
  ['fetch', "() => { fetch('http://127.0.0.1:1/'); return 1; }"],
  ['WebAssembly', '() => WebAssembly.compile(new Uint8Array(8)) && 1'],
  ['console (no host I/O)', '() => { console.log("x"); return 1; }'],
  ['setTimeout (no host event loop)', '() => { setTimeout(() => 1, 0); return 1; }'],
  ['Atomics.wait (no blocking the host)', '() => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 1e9); return 1; }'],
];

describe('reward sandbox escapes (Node)', () => {
  it.each(ESCAPES)('%s fails with an error naming the function', async (_what, source) => {
    const r = await attempt(await make(source));
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.message).toContain('"hostile"');
    expect(r.error.message).toMatch(/ReferenceError|TypeError|not defined|not a function/);
    expect(existsSync(target)).toBe(false);
  });

  it("import('node:fs') cannot load a module, even once its promise settles", async () => {
    const s = await make(`() => { import('node:fs').then((fs) => fs.writeFileSync(${P_JSON}, 'x')); import('http://127.0.0.1:1/x.js'); return 0; }`);
    const r = await attempt(s);
    // The call itself returns 0: dynamic import just makes a promise that the sandbox never settles.
    expect(r).toEqual({ ok: true, value: 0 });
    await new Promise((res) => setTimeout(res, 100));
    expect(existsSync(target)).toBe(false);
  });

  it('the global object holds only ECMAScript built-ins', async () => {
    const standard = [
      'Object', 'Function', 'Array', 'Number', 'parseFloat', 'parseInt', 'Infinity', 'NaN', 'undefined', 'Boolean', 'String', 'Symbol', 'Date', 'Promise',
      'RegExp', 'Error', 'AggregateError', 'EvalError', 'RangeError', 'ReferenceError', 'SyntaxError', 'TypeError', 'URIError', 'InternalError', 'globalThis',
      'JSON', 'Math', 'Intl', 'ArrayBuffer', 'SharedArrayBuffer', 'Uint8Array', 'Int8Array', 'Uint16Array', 'Int16Array', 'Uint32Array', 'Int32Array',
      'Float16Array', 'Float32Array', 'Float64Array', 'Uint8ClampedArray', 'BigUint64Array', 'BigInt64Array', 'DataView', 'Map', 'BigInt', 'Set', 'WeakMap',
      'WeakSet', 'Proxy', 'Reflect', 'FinalizationRegistry', 'WeakRef', 'decodeURI', 'decodeURIComponent', 'encodeURI', 'encodeURIComponent', 'escape',
      'unescape', 'eval', 'isFinite', 'isNaN', 'Iterator',
    ];
    const s = await make(`() => { const std = ${JSON.stringify(standard)}; const extra = Object.getOwnPropertyNames(globalThis).filter((k) => !std.includes(k)); if (extra.length) throw new Error('host globals: ' + extra.join(', ')); return 1; }`);
    expect(await attempt(s)).toEqual({ ok: true, value: 1 });
  });

  it('changes to built-ins inside the sandbox do not reach the host', async () => {
    const s = await make('() => { Object.prototype.polluted = 1; Array.prototype.push = null; JSON.parse = null; return 0; }');
    expect(await attempt(s)).toEqual({ ok: true, value: 0 });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(typeof [].push).toBe('function');
  });

  it('sees its arguments as plain data, a fresh copy per call', async () => {
    const s = await make('(c, p) => { const r = (p.seen ? 100 : 0) + (Object.getPrototypeOf(p) === Object.prototype ? 1 : 0) + c.length; p.seen = true; return r; }');
    const r = await runRewards([s], [1], ['ab', 'abc'], [P, P]);
    expect(r.rewards).toEqual([3, 4]);
    expect((P as unknown as Record<string, unknown>).seen).toBeUndefined();
  });

  it('the environment of the host is not readable', async () => {
    const s = await make('() => { let found = 0; try { found = JSON.stringify(globalThis).includes("hunter2") ? 1 : 0; } catch (e) {} return found; }');
    expect(await attempt(s)).toEqual({ ok: true, value: 0 });
  });
});

describe('reward sandbox caps (Node)', () => {
  const cases: [string, string, string, RegExp][] = [
    ['an infinite loop', '(c) => { while (true) {} }', 'timeout', /longer than 300 ms/],
    ['an infinite loop in a getter of a thrown object', '(c) => { throw { get message() { for (;;) {} } }; }', 'threw', /could not be described|interrupted|\(unreadable\)/],
    ['1 GB of typed array', '(c) => new Uint8Array(1 << 30).length', 'memory', /memory/],
    ['1 GB of ArrayBuffer in 16 MB pieces', '(c) => { const keep = []; for (let i = 0; i < 64; i++) keep.push(new Float64Array(2 << 20)); return keep.length; }', 'memory', /memory/],
    ['a string that doubles forever', '(c) => { let s = "x"; for (;;) s += s; }', 'memory', /memory|too long/],
    // The collector slows down as the heap fills: whichever cap comes first stops it. At QuickJS'
    // own allocation limit it sometimes cannot build its out-of-memory error and throws null instead.
    ['objects without end', '(c) => { const a = []; for (;;) a.push({ c }); }', 'memory|timeout|threw', /memory|longer than|could not be described|thrown value: null/],
    ['deep recursion', '(c) => { const f = (n) => f(n + 1) + 1; return f(0); }', 'memory', /stack/],
    ['an async function', 'async (c) => 1', 'type', /Promise|synchronous/],
    ['a returned object with a looping valueOf', '(c) => ({ valueOf() { for (;;) {} } })', 'type', /object/],
  ];

  it.each(cases)('%s is stopped, reported by name and line, and the sandbox is renewed', async (_what, body, kind, re) => {
    const source = `(c, p) => {\n  if (c !== 'bad') return 1;\n  return (${body})(c);\n}`;
    const s = await make(source);
    const t0 = Date.now();
    const r = await attempt(s, 'bad');
    expect(Date.now() - t0).toBeLessThan(10_000);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.error.kind).toMatch(new RegExp(`^(${kind})$`));
    expect(r.error.message).toContain('"hostile"');
    expect(r.error.message).toMatch(re);
    if (/^(memory|timeout)$/.test(r.error.kind) && !/could not be described/.test(r.error.message)) expect(r.error.line).toBe(3);
    // A fresh instance replaces the broken one.
    expect(await attempt(s, 'good')).toEqual({ ok: true, value: 1 });
  });

  it('a loop at the top level of the source is stopped at start', async () => {
    const s = await createSandboxedReward({ name: 'toplevel', source: '(() => { for (;;) {} })()' }, { startLimitMs: 200 });
    made.push(s);
    await expect(s.start()).rejects.toThrow(/"toplevel".*within 200 ms/);
  });

  it('a syntax error names its line and column', async () => {
    const s = await make('(c, p) => {\n  return c.length +;\n}');
    const e = await s.start().then(() => null, (x: unknown) => x as RewardError);
    expect(e?.kind).toBe('syntax');
    expect(e?.line).toBe(2);
    expect(e?.column).toBe(20);
    expect(e?.message).toMatch(/"hostile" \(line 2, column 20\)/);
  });

  it('a throw names its line', async () => {
    const r = await attempt(await make('(c, p) => {\n  const x = null;\n  return x.y;\n}'));
    expect(r.ok === false && r.error.kind).toBe('threw');
    expect(r.ok === false && r.error.line).toBe(3);
    expect(r.ok === false && r.error.message).toMatch(/TypeError/);
  });

  it('a hostile reward fails the step before any update: the weights are untouched', async () => {
    await tf.setBackend('cpu');
    const model = tinyModel(3, 1);
    const hostile = await make('(c) => { for (;;) {} }', { timeLimitMs: 100 });
    const trainer = new GRPOTrainer({
      policy: model,
      tokenizer: charTokenizer,
      problems: wordSource,
      renderPrompt: renderWord,
      rewards: [hostile],
      config: { num_generations: 2, prompts_per_step: 1, max_completion_length: 3, learning_rate: 0.1 },
      eosTokenIds: [2],
      padTokenId: 0,
    });
    const before = new Map([...model.weights].map(([k, v]) => [k, v.dataSync().slice()]));
    await expect(trainer.trainStep()).rejects.toThrow(/"hostile"/);
    for (const [k, v] of model.weights) expect(Array.from(v.dataSync())).toEqual(Array.from(before.get(k)!));
    trainer.dispose();
    model.dispose();
  });
});
