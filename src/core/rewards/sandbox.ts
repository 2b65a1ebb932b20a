/**
 * User-written reward functions (JavaScript source of `(completion, problem) => number | null`) run
 * in QuickJS compiled to WebAssembly, the same engine in the browser and in Node. The engine has
 * no host objects at all: no fetch, no importScripts, no module loader, no storage, no DOM, no
 * process, no require. Hiding globals in a host realm is not enough (prototype chains and dynamic
 * import reach them again), so nothing of the host is ever put into the sandbox: the arguments go
 * in as a string and as JSON-parsed plain data, the result comes out as a number.
 *
 * Caps: each call has a time limit (QuickJS' interrupt handler stops synchronous loops), the
 * runtime's allocator has a byte limit that covers every allocation (objects, strings, typed
 * arrays, ArrayBuffers), and the interpreter's stack is capped. A call that breaks a cap throws a
 * RewardError and the whole WebAssembly instance is thrown away; the next call gets a fresh one.
 *
 * The evaluated script is `(` on line 1, the user's source from line 2, then `)`: positions in
 * errors map back by subtracting USER_LINE_OFFSET.
 */
import type { QuickJSContext, QuickJSHandle, QuickJSRuntime, QuickJSWASMModule } from 'quickjs-emscripten-core';
import type { Problem } from '../types';
import { RewardError, type RewardErrorKind, type RewardFunction } from './runner';

export interface UserRewardSource {
  name: string;
  /** JavaScript source text of an expression that evaluates to `(completion, problem) => number | null`. */
  source: string;
}

export interface SandboxOptions {
  /** Per call (one completion). */
  timeLimitMs?: number;
  /** For evaluating the source (a top-level loop is caught by this). */
  startLimitMs?: number;
  /** Every allocation of the reward's engine together: objects, strings, typed arrays. */
  memoryLimitBytes?: number;
  /** The interpreter's stack (deep recursion stops here). */
  stackLimitBytes?: number;
}

export const USER_LINE_OFFSET = 1;
export const SCRIPT_NAME = 'reward.js';
export const DEFAULT_MEMORY_LIMIT = 64 * 1024 * 1024;
/**
 * QuickJS counts its own stack; the host's native stack (which wasm frames also use) must not run
 * out first, and 128 KB stays below it in Node and in Chromium workers (about 650 nested calls).
 */
export const DEFAULT_STACK_LIMIT = 128 * 1024;
const WASM_PAGE = 64 * 1024;
/** The engine's own start-up memory; the instance's memory starts here and may grow to the limit. */
const INITIAL_PAGES = 256;

/** The longest text of a thrown value that is copied out of the sandbox. */
const MAX_MESSAGE = 300;

type EngineFactory = (memoryLimitBytes: number) => Promise<QuickJSWASMModule>;
let factoryPromise: Promise<EngineFactory> | null = null;

/**
 * A factory of fresh QuickJS instances. The engine's JavaScript and wasm (embedded as data in one
 * ES module, so bundlers need no asset handling) load once; each instance gets its own
 * WebAssembly.Memory whose maximum is the memory cap. QuickJS' own malloc limit applies to one
 * allocation at a time, so this maximum is what bounds all of them together.
 */
function engineFactory(): Promise<EngineFactory> {
  factoryPromise ??= (async () => {
    const [core, variant] = await Promise.all([import('quickjs-emscripten-core'), import('@jitl/quickjs-singlefile-browser-release-sync')]);
    return (limit: number) => {
      const maximum = Math.max(INITIAL_PAGES, Math.ceil(limit / WASM_PAGE));
      const wasmMemory = new WebAssembly.Memory({ initial: INITIAL_PAGES, maximum });
      return core.newQuickJSWASMModuleFromVariant(core.newVariant(variant.default, { wasmMemory }));
    };
  })();
  return factoryPromise;
}

/** Map a position in the evaluated script to the user's source; undefined when outside it. */
export function toUserPosition(line: number | undefined, column: number | undefined, sourceLines: number): { line?: number; column?: number } {
  if (line === undefined) return {};
  const l = line - USER_LINE_OFFSET;
  if (l < 1 || l > sourceLines) return {};
  return column === undefined ? { line: l } : { line: l, column };
}

/** The first frame of the user's script in a QuickJS stack ("    at f (reward.js:3:12)"). */
export function positionInStack(stack: string): { line: number; column?: number } | null {
  const m = /reward\.js:(\d+)(?::(\d+))?/.exec(stack);
  if (!m) return null;
  return m[2] === undefined ? { line: Number(m[1]) } : { line: Number(m[1]), column: Number(m[2]) };
}

interface Described {
  name: string;
  message: string;
  stack: string;
  /** Describing the thrown value failed: the engine is in a state not worth keeping. */
  undescribable?: boolean;
}

/** What broke, from QuickJS' own error names and messages. */
function classify(d: Described): { kind: RewardErrorKind; capBroken: boolean; detail: string } {
  if (d.undescribable) return { kind: d.name === 'InternalError' ? 'memory' : 'threw', capBroken: true, detail: `${d.name}: ${d.message}` };
  if (d.name === 'InternalError' && /interrupted/.test(d.message)) return { kind: 'timeout', capBroken: true, detail: '' };
  if (d.name === 'InternalError' && /stack overflow/.test(d.message)) {
    return { kind: 'memory', capBroken: true, detail: 'ran out of stack (unbounded recursion?)' };
  }
  if (/out of memory|string too long|invalid array buffer length|invalid array length|array too long/i.test(d.message)) {
    return { kind: 'memory', capBroken: true, detail: `ran out of its memory (${d.name}: ${d.message})` };
  }
  return { kind: 'threw', capBroken: false, detail: `${d.name}: ${d.message}` };
}

class QuickJsReward implements RewardFunction {
  private module: QuickJSWASMModule | null = null;
  private runtime: QuickJSRuntime | null = null;
  private context: QuickJSContext | null = null;
  private fn: QuickJSHandle | null = null;
  private jsonParse: QuickJSHandle | null = null;
  private describeFn: QuickJSHandle | null = null;
  private starting: Promise<void> | null = null;
  private readonly sourceLines: number;
  private readonly timeLimitMs: number;
  private readonly startLimitMs: number;
  private readonly memoryLimit: number;
  private readonly stackLimit: number;

  constructor(
    private readonly spec: UserRewardSource,
    opts: SandboxOptions,
  ) {
    this.sourceLines = spec.source.split('\n').length;
    this.timeLimitMs = opts.timeLimitMs ?? 1000;
    this.startLimitMs = opts.startLimitMs ?? 5000;
    this.memoryLimit = opts.memoryLimitBytes ?? DEFAULT_MEMORY_LIMIT;
    this.stackLimit = opts.stackLimitBytes ?? DEFAULT_STACK_LIMIT;
  }

  get name(): string {
    return this.spec.name;
  }

  /** When the call in progress must stop; read by the interrupt handler, set before each call. */
  private deadlineAt = 0;
  /** Set when the interrupt handler stopped the engine since the last deadline was set. */
  private interrupted = false;

  private deadline(ms: number): void {
    this.deadlineAt = Date.now() + ms;
    this.interrupted = false;
  }

  /** Drop the engine instance and everything in it; the next call builds a fresh one. */
  private renew(): void {
    const ctx = this.context;
    for (const h of [this.fn, this.jsonParse, this.describeFn]) {
      try {
        if (h?.alive) h.dispose();
      } catch {
        // A broken instance is discarded whole below.
      }
    }
    try {
      ctx?.dispose();
      this.runtime?.dispose();
    } catch {
      // QuickJS asserts on leaked objects after an out-of-memory abort; the instance is dropped anyway.
    }
    this.fn = this.jsonParse = this.describeFn = null;
    this.context = null;
    this.runtime = null;
    this.module = null;
    this.starting = null;
  }

  /** Name, message and stack of a thrown value, read inside the sandbox (user getters run under the deadline). */
  private describe(err: QuickJSHandle): Described {
    const ctx = this.context!;
    try {
      this.deadline(this.timeLimitMs);
      const r = ctx.callFunction(this.describeFn!, ctx.undefined, err);
      if (r.error) {
        r.error.dispose();
        // Describing is a few allocations of plain JS. When it fails without being interrupted (so not
        // a looping getter on the thrown value), even those allocations failed: the engine is out of memory.
        if (!this.interrupted) return { name: 'InternalError', message: 'out of memory (the error itself could not be described)', stack: '', undescribable: true };
        return { name: 'Error', message: 'a value that could not be described', stack: '', undescribable: true };
      }
      const s = ctx.getString(r.value);
      r.value.dispose();
      const [name, message, stack] = JSON.parse(s) as [string, string, string];
      return { name, message, stack };
    } catch {
      return { name: 'Error', message: 'a value that could not be described', stack: '' };
    }
  }

  private error(kind: RewardErrorKind, detail: string, stack?: string): RewardError {
    const pos = stack ? positionInStack(stack) : null;
    const user = toUserPosition(pos?.line, pos?.column, this.sourceLines);
    return new RewardError(this.spec.name, kind, detail, user.line, user.column);
  }

  /** Build the engine and evaluate the source; rejects with a RewardError for syntax errors and non-functions. */
  start(): Promise<void> {
    this.starting ??= this.build();
    const p = this.starting;
    p.catch(() => undefined);
    return p;
  }

  private async build(): Promise<void> {
    const make = await engineFactory();
    this.module = await make(this.memoryLimit);
    const rt = this.module.newRuntime();
    rt.setMemoryLimit(this.memoryLimit);
    rt.setMaxStackSize(this.stackLimit);
    rt.setInterruptHandler(() => {
      if (Date.now() > this.deadlineAt) this.interrupted = true;
      return this.interrupted;
    });
    this.runtime = rt;
    const ctx = rt.newContext();
    this.context = ctx;
    // Built-ins are captured before user code runs, which may replace them.
    this.deadline(this.startLimitMs);
    const helpers = ctx.evalCode(
      '(function () { var stringify = JSON.stringify, S = String; return [JSON.parse, function (e) { var n = "Error", m = "", s = ""; ' +
        'try { if (e !== null && (typeof e === "object" || typeof e === "function")) { n = S(e.name); m = S(e.message); s = S(e.stack || ""); } else { n = "a thrown value"; m = S(e); } } catch (x) { m = "(unreadable)"; } ' +
        `return stringify([n.slice(0, 60), m.slice(0, ${MAX_MESSAGE}), s.slice(0, 2000)]); }]; })()`,
      'tabzero-helpers.js',
    );
    const arr = ctx.unwrapResult(helpers);
    this.jsonParse = ctx.getProp(arr, 0);
    this.describeFn = ctx.getProp(arr, 1);
    arr.dispose();
    this.deadline(this.startLimitMs);
    const res = ctx.evalCode(`(\n${this.spec.source}\n)`, SCRIPT_NAME, { strict: true });
    if (res.error) {
      const d = this.describe(res.error);
      res.error.dispose();
      const c = classify(d);
      this.renew();
      if (d.name === 'SyntaxError') throw this.error('syntax', `${d.name}: ${d.message}`, d.stack);
      if (c.kind === 'timeout') throw this.error('timeout', `did not finish evaluating its source within ${this.startLimitMs} ms`, d.stack);
      throw this.error(c.kind, c.kind === 'threw' ? `threw ${c.detail} while its source was evaluated` : c.detail, d.stack);
    }
    if (ctx.typeof(res.value) !== 'function') {
      const t = ctx.typeof(res.value);
      res.value.dispose();
      this.renew();
      throw new RewardError(this.spec.name, 'type', `the source must evaluate to a function (completion, problem) => number, but it evaluates to ${t}`);
    }
    this.fn = res.value;
  }

  /** One call; a number, null, or a RewardError (the instance is renewed when a cap broke). */
  private callOne(completion: string, problem: Problem, index: number): number | null {
    const ctx = this.context!;
    const args: QuickJSHandle[] = [];
    try {
      args.push(ctx.newString(completion));
      // Plain data only: a fresh copy per call, so one call cannot change what the next one sees.
      this.deadline(this.timeLimitMs);
      const text = ctx.newString(JSON.stringify(problem));
      args.push(text);
      const parsed = ctx.callFunction(this.jsonParse!, ctx.undefined, text);
      if (parsed.error) {
        parsed.error.dispose();
        throw new RewardError(this.spec.name, 'crashed', `the problem for completion ${index} could not be passed in (too large for the sandbox's memory)`);
      }
      args.push(parsed.value);
      this.deadline(this.timeLimitMs);
      const r = ctx.callFunction(this.fn!, ctx.undefined, args[0]!, parsed.value);
      if (r.error) {
        const d = this.describe(r.error);
        r.error.dispose();
        const c = classify(d);
        if (c.kind === 'timeout') throw this.error('timeout', `took longer than ${this.timeLimitMs} ms on completion ${index}; the call was stopped (an infinite loop?)`, d.stack);
        throw this.error(c.kind, c.kind === 'threw' ? `threw ${c.detail} on completion ${index}` : `${c.detail} on completion ${index}`, d.stack);
      }
      const t = ctx.typeof(r.value);
      let out: unknown;
      if (t === 'number') out = ctx.getNumber(r.value);
      else if (t === 'object' && ctx.sameValue(r.value, ctx.null)) out = null;
      else {
        let promise = false;
        if (t === 'object') {
          const then = ctx.getProp(r.value, 'then');
          promise = ctx.typeof(then) === 'function';
          then.dispose();
        }
        r.value.dispose();
        throw new RewardError(
          this.spec.name,
          'type',
          promise
            ? `returned a Promise for completion ${index}; reward functions must be synchronous (no async/await)`
            : `returned ${t === 'undefined' ? 'undefined (is a `return` missing?)' : `a ${t}`} for completion ${index}; it must return a number, or null when it does not apply`,
        );
      }
      r.value.dispose();
      return out as number | null;
    } finally {
      for (const a of args) if (a.alive) a.dispose();
    }
  }

  async score(completions: readonly string[], problems: readonly Problem[]): Promise<(number | null)[]> {
    await this.start();
    const out: (number | null)[] = [];
    for (let i = 0; i < completions.length; i++) {
      try {
        out.push(this.callOne(completions[i]!, problems[i]!, i));
      } catch (e) {
        // Caps broken, or the engine itself failed: nothing of this instance is trusted again.
        const capBroken = e instanceof RewardError && (e.kind === 'timeout' || e.kind === 'memory' || e.kind === 'crashed');
        if (capBroken || !(e instanceof RewardError)) this.renew();
        if (e instanceof RewardError) throw e;
        if (e instanceof RangeError && /call stack/i.test(e.message)) {
          throw new RewardError(this.spec.name, 'memory', `ran out of stack on completion ${i} (unbounded recursion?); the sandbox has been restarted`);
        }
        throw new RewardError(this.spec.name, 'crashed', `the sandbox failed on completion ${i} (${(e as Error).message}); it has been restarted`);
      }
    }
    return out;
  }

  dispose(): void {
    this.renew();
  }
}

export type SandboxedRewardFunction = RewardFunction & { start(): Promise<void>; dispose(): void };

/** A user reward in its own QuickJS instance; call start() to surface syntax errors early. */
export async function createSandboxedReward(spec: UserRewardSource, opts: SandboxOptions = {}): Promise<SandboxedRewardFunction> {
  return new QuickJsReward(spec, opts);
}
