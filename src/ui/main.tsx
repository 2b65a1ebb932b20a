/** Page entry: read shared settings from the URL, start the worker, load the embedded model, render. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './App';
import { readShareLink } from './share-link';
import { MockTrainingWorker } from './mock-worker';
import { createAppStore, type AppState } from './store';
import { StoreContext } from './store-context';
import { clientFromPort, createTrainingWorkerClient, type WorkerClient } from './worker-client';
import type { StoreApi } from 'zustand';
import './styles.css';

declare global {
  interface Window {
    /** The app's store, for the end-to-end test and for poking at a run from the console. */
    tabzero?: StoreApi<AppState>;
  }
}

const params = new URLSearchParams(location.search);
// `?mock` drives the page with made-up events: for demos of the UI and tests without a model.
const mockKind = params.get('mock');
const client: WorkerClient = params.has('mock')
  ? clientFromPort(new MockTrainingWorker({ backend: mockKind === 'wasm' || mockKind === 'swiftshader' ? mockKind : 'gpu' }))
  : createTrainingWorkerClient();
const store = createAppStore(client);
window.tabzero = store;

const shared = readShareLink(location.hash);
if (location.hash.length > 1) {
  const st = store.getState();
  st.setSettings({ config: shared.config, probeEvery: shared.probeEvery, preset: shared.preset ?? null });
  if (shared.task) st.setTask(shared.task);
  if (shared.userRewards) st.setUserRewards(shared.userRewards);
  if (shared.builtinRewards) st.setBuiltinWeights(shared.builtinRewards);
  if (shared.lecture) st.setLecture(true);
  if (shared.taskNote) st.handleEvent({ type: 'log', level: 'warn', message: shared.taskNote });
  for (const e of shared.errors) st.handleEvent({ type: 'log', level: 'warn', message: `Ignored from the link: ${e.message}` });
} else {
  store.getState().choosePreset('lecture');
}

let lecturePref = false;
try {
  lecturePref = localStorage.getItem('tabzero-lecture') === 'on';
} catch {
  // Preferences are a nicety; private mode may refuse them.
}
if (params.has('lecture')) store.getState().setLecture(params.get('lecture') !== '0');
else if (lecturePref && location.hash.length <= 1) store.getState().setLecture(true);

// The embedded model loads at once; the worker measures the backends and picks the faster
// (?backend=wasm|webgpu|cpu forces one).
const forced = params.get('backend');
const backend = forced === 'wasm' || forced === 'webgpu' || forced === 'cpu' ? forced : undefined;
if (!params.has('noload')) store.getState().load({ kind: 'embedded' }, backend);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <StoreContext.Provider value={store}>
      <App />
    </StoreContext.Provider>
  </StrictMode>,
);
