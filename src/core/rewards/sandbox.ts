/**
 * User-written reward functions (JavaScript source of `(completion, problem) => number`) run in a
 * dedicated worker per function, never in the training worker itself: a user's infinite loop must
 * not freeze training, and their code gets no network. A call that runs past the time limit gets
 * its worker terminated (the only way to stop synchronous JavaScript) and a fresh one next time.
 *
 * The worker script is: line 1 environment glue, line 2 `const __userFn = (`, then the user's
 * source from line 3, so error positions map back by subtracting USER_LINE_OFFSET.
 */
import type { Problem } from '../types';
import { RewardError, type RewardFunction } from './runner';

export interface UserRewardSource {
  name: string;
  /** JavaScript source text of an expression that evaluates to `(completion, problem) => number | null`. */
  source: string;
}

export interface SandboxOptions {
  /** Per call. */
  timeLimitMs?: number;
  /** For the worker to start and evaluate the source (a top-level loop is caught by this). */
  startLimitMs?: number;
}

export type WorkerReply =
  | { type: 'ready' }
  | { type: 'fatal'; message: string }
  | { type: 'result'; id: number; index: number; ok: true; value: number | null }
  | { type: 'result'; id: number; index: number; ok: false; kind: 'type' | 'threw'; message: string; stack?: string };

export interface ScoreRequest {
  id: number;
  items: { completion: string; problem: Problem }[];
}

export interface WorkerFailure {
  message: string;
  /** Position in the worker script (1-based), where the environment reports one. */
  line?: number;
  column?: number;
}

/** What a sandbox needs from its environment: start a worker from script text, talk, kill. */
export interface SandboxTransport {
  post(msg: ScoreRequest): void;
  onMessage(cb: (m: WorkerReply) => void): void;
  /** Uncaught errors, including syntax errors of the script. */
  onError(cb: (e: WorkerFailure) => void): void;
  terminate(): void;
}

export type TransportFactory = (script: string) => SandboxTransport;

export const USER_LINE_OFFSET = 2;

/** Shared by both environments: runs the user function on each item and reports each result at once. */
const RUNTIME = [
  ';(function () {',
  "if (typeof __userFn !== 'function') { __post({ type: 'fatal', message: 'the source must evaluate to a function (completion, problem) => number, but it evaluates to ' + (typeof __userFn) }); return; }",
  '__onMessage(function (msg) {',
  '  for (var i = 0; i < msg.items.length; i++) {',
  '    var it = msg.items[i], out;',
  '    try {',
  '      var v = __userFn(it.completion, it.problem);',
  "      if (v === null || typeof v === 'number') out = { type: 'result', id: msg.id, index: i, ok: true, value: v };",
  "      else out = { type: 'result', id: msg.id, index: i, ok: false, kind: 'type', message: v === undefined ? 'undefined (is a `return` missing?)' : 'a ' + (typeof v) + ' (' + String(v).slice(0, 40) + ')' };",
  '    } catch (e) {',
  "      out = { type: 'result', id: msg.id, index: i, ok: false, kind: 'threw', message: (e && e.name ? e.name + ': ' + e.message : String(e)), stack: e && e.stack ? String(e.stack) : '' };",
  '    }',
  '    __post(out);',
  '  }',
  '});',
  "__post({ type: 'ready' });",
  '})();',
].join(' ');

/** `glue` must be one line defining __post(msg) and __onMessage(handler) and removing network access. */
export function buildWorkerScript(glue: string, userSource: string): string {
  if (glue.includes('\n')) throw new Error('buildWorkerScript: the glue must be a single line');
  return `${glue}\nconst __userFn = (\n${userSource}\n);\n${RUNTIME}\n`;
}

/** Map a position in the worker script to the user's source; undefined when it is outside it. */
export function toUserPosition(line: number | undefined, column: number | undefined, sourceLines: number): { line?: number; column?: number } {
  if (line === undefined) return {};
  const l = line - USER_LINE_OFFSET;
  if (l < 1 || l > sourceLines) return {};
  return { line: l, column };
}

/** The first stack frame inside the worker script ([worker eval] in Node, blob: URL in browsers). */
export function positionInStack(stack: string): { line: number; column: number } | null {
  const m = /(?:\[worker eval\]|blob:[^\s)]*?):(\d+):(\d+)/.exec(stack);
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

class SandboxedReward implements RewardFunction {
  private transport: SandboxTransport | null = null;
  private ready: Promise<void> | null = null;
  private nextId = 1;
  private readonly sourceLines: number;
  private readonly timeLimitMs: number;
  private readonly startLimitMs: number;
  private listener: ((m: WorkerReply) => void) | null = null;
  private errorListener: ((e: WorkerFailure) => void) | null = null;

  constructor(
    private readonly spec: UserRewardSource,
    private readonly makeTransport: TransportFactory,
    private readonly glue: string,
    opts: SandboxOptions,
  ) {
    this.sourceLines = spec.source.split('\n').length;
    this.timeLimitMs = opts.timeLimitMs ?? 1000;
    this.startLimitMs = opts.startLimitMs ?? 10_000;
  }

  get name(): string {
    return this.spec.name;
  }

  private failure(kind: 'syntax' | 'crashed', e: WorkerFailure): RewardError {
    const pos = toUserPosition(e.line, e.column, this.sourceLines);
    return new RewardError(this.spec.name, kind, e.message, pos.line, pos.column);
  }

  private kill(): void {
    this.transport?.terminate();
    this.transport = null;
    this.ready = null;
  }

  /** Start the worker and evaluate the source; rejects with a RewardError for syntax errors. */
  start(): Promise<void> {
    if (this.ready) return this.ready;
    const t = this.makeTransport(buildWorkerScript(this.glue, this.spec.source));
    this.transport = t;
    t.onMessage((m) => this.listener?.(m));
    t.onError((e) => this.errorListener?.(e));
    this.ready = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.kill();
        reject(new RewardError(this.spec.name, 'timeout', `did not finish evaluating its source within ${this.startLimitMs} ms`));
      }, this.startLimitMs);
      this.listener = (m) => {
        if (m.type === 'ready') {
          clearTimeout(timer);
          resolve();
        } else if (m.type === 'fatal') {
          clearTimeout(timer);
          this.kill();
          reject(new RewardError(this.spec.name, 'type', m.message));
        }
      };
      this.errorListener = (e) => {
        clearTimeout(timer);
        this.kill();
        const syntax = /SyntaxError/.test(e.message);
        reject(this.failure(syntax ? 'syntax' : 'crashed', e));
      };
    });
    // A failed start must not leave an unhandled rejection when nobody awaits it yet.
    this.ready.catch(() => undefined);
    return this.ready;
  }

  async score(completions: readonly string[], problems: readonly Problem[]): Promise<(number | null)[]> {
    await this.start();
    const t = this.transport!;
    const id = this.nextId++;
    const n = completions.length;
    const out = new Array<number | null>(n).fill(null);
    if (n === 0) return out;
    return new Promise((resolve, reject) => {
      let received = 0;
      let timer: ReturnType<typeof setTimeout>;
      const arm = () => {
        clearTimeout(timer);
        timer = setTimeout(() => {
          this.kill();
          reject(new RewardError(this.spec.name, 'timeout', `took longer than ${this.timeLimitMs} ms on completion ${received}; the call was stopped (an infinite loop?)`));
        }, this.timeLimitMs);
      };
      const fail = (err: RewardError) => {
        clearTimeout(timer);
        this.listener = null;
        reject(err);
      };
      this.listener = (m) => {
        if (m.type !== 'result' || m.id !== id) return;
        if (!m.ok) {
          const pos = m.stack ? positionInStack(m.stack) : null;
          const user = toUserPosition(pos?.line, pos?.column, this.sourceLines);
          const detail = m.kind === 'type' ? `returned ${m.message} for completion ${m.index}; it must return a number, or null when it does not apply` : `threw ${m.message} on completion ${m.index}`;
          // The worker is still usable after a throw; keep it.
          return fail(new RewardError(this.spec.name, m.kind, detail, user.line, user.column));
        }
        out[m.index] = m.value;
        received++;
        if (received === n) {
          clearTimeout(timer);
          this.listener = null;
          resolve(out);
        } else arm();
      };
      this.errorListener = (e) => {
        this.kill();
        fail(this.failure('crashed', e));
      };
      arm();
      t.post({ id, items: completions.map((completion, i) => ({ completion, problem: problems[i]! })) });
    });
  }

  dispose(): void {
    this.kill();
  }
}

export type SandboxedRewardFunction = RewardFunction & { start(): Promise<void>; dispose(): void };

/**
 * A sandboxed reward for this environment: a Blob-URL Web Worker where `Worker` exists (browser,
 * including inside the training worker), else Node's worker_threads.
 */
export async function createSandboxedReward(spec: UserRewardSource, opts: SandboxOptions = {}): Promise<SandboxedRewardFunction> {
  const isBrowser = typeof globalThis.Worker === 'function' && typeof Blob === 'function' && typeof URL.createObjectURL === 'function';
  if (isBrowser) {
    const m = await import('./sandbox-browser');
    return new SandboxedReward(spec, m.browserTransport, m.BROWSER_GLUE, opts);
  }
  const m = await import('./sandbox-node');
  return new SandboxedReward(spec, await m.nodeTransportFactory(), m.NODE_GLUE, opts);
}

/** For tests and for environments that bring their own worker. */
export function createSandboxedRewardWith(spec: UserRewardSource, factory: TransportFactory, glue: string, opts: SandboxOptions = {}): SandboxedRewardFunction {
  return new SandboxedReward(spec, factory, glue, opts);
}
