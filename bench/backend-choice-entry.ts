/** Browser entry for bench/backend-choice-chromium.ts: the measured backend choice, on window.result. */
import { chooseBackend } from '../src/core/backend-choice';

const w = window as unknown as { result?: unknown };
chooseBackend({ wasmPaths: new URL('wasm/', location.href).href }).then(
  (r) => (w.result = r),
  (e: unknown) => (w.result = { error: String(e) }),
);
