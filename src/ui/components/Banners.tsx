/** Messages at the top: no WebGPU (with the wasm way out), load progress, resume offer, errors. */
import { useAppStore } from '../store-context';

export function hasWebGpu(): boolean {
  return typeof navigator !== 'undefined' && 'gpu' in navigator && (navigator as Navigator & { gpu?: unknown }).gpu !== undefined;
}

/**
 * Before a model is loaded (or after a load failed on the GPU): one line that says why there is no
 * WebGPU and offers wasm. Once a model runs, the backend badge and its reason line say the rest.
 */
export function WebGpuBanner() {
  const backend = useAppStore((s) => s.backend);
  const errors = useAppStore((s) => s.errors);
  const lastSource = useAppStore((s) => s.lastSource);
  const runState = useAppStore((s) => s.runState);
  const load = useAppStore((s) => s.load);
  const gpuError = errors.find((e) => e.code === 'backend' || e.code === 'out-of-memory');
  let reason: string | null = null;
  if (gpuError && backend?.name !== 'wasm') reason = gpuError.message;
  else if (!backend && !hasWebGpu() && runState !== 'loading') reason = 'This browser does not offer WebGPU (navigator.gpu is missing); Chrome and Edge 113+ have it.';
  if (!reason) return null;
  return (
    <div className="banner warn one-line" role="status" data-testid="webgpu-banner" title={reason}>
      <strong>No WebGPU:</strong>
      <span className="ellipsis">{reason}</span>
      <button type="button" className="small" disabled={runState === 'loading' || runState === 'running'} onClick={() => load(lastSource ?? { kind: 'embedded' }, 'wasm')}>
        Train on the CPU (WebAssembly) instead
      </button>
    </div>
  );
}

export function LoadBanner() {
  const progress = useAppStore((s) => s.loadProgress);
  const runState = useAppStore((s) => s.runState);
  if (runState !== 'loading' || !progress) return null;
  const pct = progress.total > 0 ? Math.round((100 * progress.done) / progress.total) : 0;
  return (
    <div className="banner info" data-testid="load-progress">
      <span>Loading model{progress.message ? `: ${progress.message}` : '…'}</span>
      <progress max={100} value={pct} aria-label="model load progress" />
      <span>{pct}%</span>
    </div>
  );
}

export function ResumeBanner() {
  const resumable = useAppStore((s) => s.resumable);
  const runState = useAppStore((s) => s.runState);
  const start = useAppStore((s) => s.start);
  if (!resumable || runState !== 'ready') return null;
  return (
    <div className="banner info" data-testid="resume-banner">
      <span>A saved run of this model is in this browser.</span>
      <button type="button" className="primary" onClick={() => start({ resume: true })}>
        Resume training from the checkpoint
      </button>
      <span className="note">or press Start for a fresh run.</span>
    </div>
  );
}

export function ErrorList() {
  const errors = useAppStore((s) => s.errors);
  const dismiss = useAppStore((s) => s.dismissError);
  // Reward errors are shown at their line in the editor; the top keeps only the latest few others.
  const shown = errors.filter((e) => !e.reward).slice(-3);
  if (shown.length === 0) return null;
  return (
    <div className="errors" role="alert">
      {shown.map((e) => (
        <div key={e.id} className="banner error" data-testid="error-banner">
          <strong>{e.code}: </strong>
          {e.message}
          <button type="button" className="small close" onClick={() => dismiss(e.id)} aria-label="Dismiss">
            ×
          </button>
        </div>
      ))}
    </div>
  );
}

export function RewardErrorNotice({ onOpen }: { onOpen: () => void }) {
  const rewardErrors = useAppStore((s) => s.rewardErrors);
  const names = Object.keys(rewardErrors);
  if (names.length === 0) return null;
  return (
    <div className="banner error" data-testid="reward-error-notice">
      Reward {names.map((n) => `“${n}”`).join(', ')} failed in the worker.{' '}
      <button type="button" className="small" onClick={onOpen}>
        Show the line
      </button>
    </div>
  );
}
