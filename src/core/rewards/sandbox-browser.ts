/** The browser side of the reward sandbox: a dedicated Worker built from a Blob URL. */
import type { SandboxTransport, WorkerReply } from './sandbox';

// Network and storage are made unreachable before the user's code runs.
export const BROWSER_GLUE =
  "const __post = self.postMessage.bind(self); const __onMessage = function (h) { self.onmessage = function (e) { h(e.data); }; }; " +
  "['fetch','XMLHttpRequest','WebSocket','WebTransport','EventSource','importScripts','Worker','SharedWorker','indexedDB','caches','BroadcastChannel','navigator'].forEach(function (k) { try { Object.defineProperty(self, k, { value: undefined, writable: false, configurable: false }); } catch (e) {} });";

export function browserTransport(script: string): SandboxTransport {
  const url = URL.createObjectURL(new Blob([script], { type: 'text/javascript' }));
  const w = new Worker(url);
  // The worker has loaded its script by the time it posts anything; the URL is no longer needed then.
  let revoked = false;
  const revoke = () => {
    if (!revoked) URL.revokeObjectURL(url);
    revoked = true;
  };
  return {
    post: (msg) => w.postMessage(msg),
    onMessage: (cb) => {
      w.onmessage = (e: MessageEvent<WorkerReply>) => {
        revoke();
        cb(e.data);
      };
    },
    onError: (cb) => {
      w.onerror = (e: ErrorEvent) => {
        e.preventDefault();
        revoke();
        cb({ message: e.message || 'the reward worker failed to start', line: e.lineno || undefined, column: e.colno || undefined });
      };
    },
    terminate: () => {
      revoke();
      w.terminate();
    },
  };
}
