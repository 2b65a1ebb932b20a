/**
 * The user-reward sandbox in real Chromium, run inside a dedicated Worker as the training worker
 * runs it: it scores, reports syntax errors and throws by line, stops loops, and every escape the
 * issue lists (prototype fetch, importScripts, import(url), FontFace, indexedDB, caches,
 * navigator.storage, the Function constructor, memory and stack bombs) fails, with no request
 * reaching the server and the origin's storage left as it was.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { launchChromium, ROOT, type Browser } from '../e2e/harness';

const HAS_CHROMIUM = existsSync('/usr/bin/chromium');

const WORKER = `
import { createSandboxedReward } from './src/core/rewards/sandbox';
import { runRewards } from './src/core/rewards/runner';
self.onmessage = async (e) => {
  const { id, source, completions, timeLimitMs } = e.data;
  const f = await createSandboxedReward({ name: 'user', source }, { timeLimitMs, startLimitMs: 1000 });
  let out;
  try {
    const r = await runRewards([f], [1], completions, completions.map(() => ({ id: 'p', task: 't', question: 'q', answer: '4' })));
    out = { ok: true, rewards: r.rewards };
  } catch (x) {
    out = { ok: false, name: x.rewardName, kind: x.kind, line: x.line, column: x.column, message: String(x.message) };
  } finally {
    f.dispose();
  }
  self.postMessage({ id, out });
};
`;

const PAGE = `
const w = new Worker('worker.js', { type: 'module' });
let next = 1;
const waiting = new Map();
w.onmessage = (e) => { waiting.get(e.data.id)(e.data.out); waiting.delete(e.data.id); };
self.tz = {
  score: (source, completions, timeLimitMs) => new Promise((res) => { const id = next++; waiting.set(id, res); w.postMessage({ id, source, completions, timeLimitMs }); }),
};
`;

type Outcome = { ok: true; rewards: number[] } | { ok: false; name: string; kind: string; line?: number; column?: number; message: string };

describe.skipIf(!HAS_CHROMIUM)('sandboxed rewards in Chromium (inside a Worker)', () => {
  let dir = '';
  let server: Server;
  let url = '';
  const requests: string[] = [];
  let browser: Browser;
  let page: Page;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'tabzero-sandbox-'));
    await esbuild.build({
      stdin: { contents: WORKER, resolveDir: ROOT, loader: 'ts' },
      bundle: true,
      format: 'esm',
      platform: 'browser',
      outfile: join(dir, 'worker.js'),
      logLevel: 'silent',
    });
    writeFileSync(join(dir, 'page.js'), PAGE);
    writeFileSync(join(dir, 'index.html'), '<!doctype html><script type="module" src="page.js"></script>');
    // Every request is logged: a sandbox that reaches the network shows up here.
    server = createServer((req, res) => {
      const path = new URL(req.url ?? '/', 'http://x').pathname;
      requests.push(path);
      const file = join(dir, path === '/' ? 'index.html' : path.slice(1));
      if (!/^\/[\w.-]+$/.test(path) || !existsSync(file)) {
        res.writeHead(404).end();
        return;
      }
      res.writeHead(200, { 'content-type': file.endsWith('.html') ? 'text/html' : 'text/javascript' }).end(readFileSync(file));
    });
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    browser = await launchChromium();
    page = await browser.context.newPage();
    await page.goto(`${url}/index.html`);
    await page.waitForFunction(() => 'tz' in self);
    // Something to steal or destroy: an OPFS file, an IndexedDB database and a Cache Storage entry.
    await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const w = await (await root.getFileHandle('canary.txt', { create: true })).createWritable();
      await w.write('alive');
      await w.close();
      await new Promise<void>((ok, bad) => {
        const r = indexedDB.open('canary', 1);
        r.onupgradeneeded = () => r.result.createObjectStore('s');
        r.onsuccess = () => {
          r.result.close();
          ok();
        };
        r.onerror = () => bad(r.error);
      });
      await (await caches.open('canary')).put('/canary-cached', new Response('alive'));
    });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await new Promise<void>((ok) => (server ? server.close(() => ok()) : ok()));
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const score = (source: string, completions: string[], timeLimitMs = 400): Promise<Outcome> =>
    page.evaluate(({ source, completions, timeLimitMs }) => (self as unknown as { tz: { score(s: string, c: string[], t: number): Promise<Outcome> } }).tz.score(source, completions, timeLimitMs), {
      source,
      completions,
      timeLimitMs,
    });

  it('scores, with plain data and no DOM', async () => {
    const r = await score('(c, p) => (c === p.answer ? 1 : 0) + (typeof document === "undefined" && typeof self === "undefined" ? 0.5 : 0)', ['4', '5']);
    expect(r).toEqual({ ok: true, rewards: [1.5, 0.5] });
  });

  const ESCAPES: [string, string][] = [
    ['prototype fetch', "() => { Object.getPrototypeOf(globalThis).fetch('/canary-proto-fetch'); return 1; }"],
    ['WorkerGlobalScope.prototype.fetch', "() => { WorkerGlobalScope.prototype.fetch.call(self, '/canary-wgs-fetch'); return 1; }"],
    ['fetch', "() => { fetch('/canary-fetch'); return 1; }"],
    ['importScripts', "() => { importScripts('/canary-import-scripts.js'); return 1; }"],
    ['new FontFace(url).load()', "() => { new FontFace('x', 'url(/canary-font)').load(); return 1; }"],
    ['indexedDB', "() => { indexedDB.deleteDatabase('canary'); return 1; }"],
    ['caches', "() => { caches.delete('canary'); return 1; }"],
    ['navigator.storage', "() => { navigator.storage.getDirectory().then((d) => d.removeEntry('canary.txt')); return 1; }"],
    ['XMLHttpRequest', "() => { const x = new XMLHttpRequest(); x.open('GET', '/canary-xhr'); x.send(); return 1; }"],
    ['WebSocket', "() => { new WebSocket('ws://127.0.0.1:1/'); return 1; }"],
    ['EventSource', "() => { new EventSource('/canary-sse'); return 1; }"],
    ['a nested Worker', "() => { new Worker('/canary-worker.js'); return 1; }"],
    ['BroadcastChannel', "() => { new BroadcastChannel('tabzero').postMessage('x'); return 1; }"],
    ['postMessage to the trainer', "() => { postMessage({ type: 'stop' }); return 1; }"],
    ['self.close', '() => { self.close(); return 1; }'],
    ['location', '() => location.href.length'],
    ['the Function constructor', "() => { const g = Function('return this')(); g.fetch('/canary-function'); return 1; }"],
    ['the constructor of a function reaching the host', "() => { const g = (() => {}).constructor.constructor('return globalThis')(); g.importScripts('/canary-ctor.js'); return 1; }"],
    ['WebAssembly', '() => WebAssembly.Memory ? 1 : 0'],
  ];

  it.each(ESCAPES)('%s fails, naming the function', async (_what, source) => {
    const r = await score(source, ['a']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.name).toBe('user');
    expect(r.message).toContain('"user"');
    expect(r.message).toMatch(/ReferenceError|TypeError|not defined|not a function/);
  });

  it('import(url) makes no request', async () => {
    const r = await score("() => { import('/canary-dynamic-import.js'); import('data:text/javascript,postMessage(1)'); return 0; }", ['a']);
    expect(r).toEqual({ ok: true, rewards: [0] });
  });

  const CAPS: [string, string, RegExp, RegExp][] = [
    ['an infinite loop', '(c) => { while (true) {} }', /^timeout$/, /longer than/],
    ['1 GB of typed arrays', '(c) => { const k = []; for (let i = 0; i < 64; i++) k.push(new Float64Array(2 << 20)); return k.length; }', /^memory$/, /memory/],
    ['one 1 GB typed array', '(c) => new Uint8Array(1 << 30).length', /^memory$/, /memory/],
    ['deep recursion', '(c) => { const f = (n) => f(n + 1) + 1; return f(0); }', /^memory$/, /stack/],
    ['a string that doubles forever', '(c) => { let s = "x"; for (;;) s += s; }', /^memory$/, /memory|too long/],
  ];

  it.each(CAPS)('%s is stopped and reported', async (_what, source, kind, re) => {
    const t0 = Date.now();
    const r = await score(source, ['a']);
    expect(Date.now() - t0).toBeLessThan(15_000);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toMatch(kind);
    expect(r.message).toMatch(re);
    expect(r.line).toBe(1);
  });

  it('reports a syntax error with its line', async () => {
    const r = await score('(c, p) => {\n  const x = 1;\n  return c.length +;\n}', ['a']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('syntax');
    expect(r.line).toBe(3);
  });

  it('reports a runtime throw with its line', async () => {
    const r = await score('(c) => {\n  return c.nope.length;\n}', ['a']);
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.kind).toBe('threw');
    expect(r.line).toBe(2);
  });

  it('no request reached the server and the storage is intact', async () => {
    // Give anything that slipped out time to arrive.
    await new Promise((r) => setTimeout(r, 300));
    expect(requests.filter((p) => /canary/.test(p))).toEqual([]);
    const state = await page.evaluate(async () => {
      const root = await navigator.storage.getDirectory();
      const text = await (await (await root.getFileHandle('canary.txt')).getFile()).text();
      const dbs = (await indexedDB.databases()).map((d) => d.name);
      const cached = await (await (await caches.open('canary')).match('/canary-cached'))?.text();
      return { text, dbs, cached };
    });
    expect(state).toEqual({ text: 'alive', dbs: ['canary'], cached: 'alive' });
  });
});
