/** The Node side of the reward sandbox: an eval'd worker_threads Worker. */
import type { SandboxTransport, TransportFactory, WorkerFailure, WorkerReply } from './sandbox';

// require and the network go away before the user's code runs.
export const NODE_GLUE =
  "const __pp = require('node:worker_threads').parentPort; const __post = function (m) { __pp.postMessage(m); }; const __onMessage = function (h) { __pp.on('message', h); }; " +
  "delete globalThis.require; ['fetch','WebSocket','EventSource','XMLHttpRequest'].forEach(function (k) { try { globalThis[k] = undefined; } catch (e) {} });";

/** Node prints a syntax error's position as "[worker eval]:LINE\n<code line>\n   ^". */
export function parseNodeError(e: Error): WorkerFailure {
  const stack = e.stack ?? '';
  const m = /^\[worker eval\]:(\d+)\n(.*)\n( *)\^/.exec(stack);
  const message = `${e.name}: ${e.message}`;
  if (m) return { message, line: Number(m[1]), column: m[3]!.length + 1 };
  const f = /\[worker eval\]:(\d+):(\d+)/.exec(stack);
  return f ? { message, line: Number(f[1]), column: Number(f[2]) } : { message };
}

export async function nodeTransportFactory(): Promise<TransportFactory> {
  // Kept out of the browser bundle: the specifier is only resolved in Node.
  const spec = 'node:worker_threads';
  const { Worker } = (await import(/* @vite-ignore */ spec)) as typeof import('node:worker_threads');
  return (script: string): SandboxTransport => {
    const w = new Worker(script, { eval: true, resourceLimits: { maxOldGenerationSizeMb: 256 } });
    // A reward worker must never keep the CLI process alive.
    w.unref();
    return {
      post: (msg) => w.postMessage(msg),
      onMessage: (cb) => w.on('message', (m: WorkerReply) => cb(m)),
      onError: (cb) => w.on('error', (e: Error) => cb(parseNodeError(e))),
      terminate: () => void w.terminate(),
    };
  };
}
