/**
 * The backend in one badge: green only for a hardware GPU. A software WebGPU adapter (SwiftShader,
 * llvmpipe) or the CPU backends are shown in amber, with the reason for the choice in one line and the
 * measurement behind it one click away, where the user can reload the model on another backend.
 */
import { useState } from 'react';
import type { BackendName, BackendReport } from '../../worker/protocol';
import { useAppStore } from '../store-context';

export type BackendKind = 'gpu' | 'software-gpu' | 'cpu';

export function backendKind(b: BackendReport): BackendKind {
  if (b.name !== 'webgpu') return 'cpu';
  return b.softwareAdapter ? 'software-gpu' : 'gpu';
}

export function backendLabel(b: BackendReport): string {
  const kind = backendKind(b);
  if (kind === 'software-gpu') return `${b.name} · software adapter${b.adapter ? ` (${b.adapter})` : ''}`;
  if (kind === 'cpu') return b.name === 'wasm' ? `wasm · CPU${(b.wasmThreads ?? 1) > 1 ? ` · ${b.wasmThreads} threads` : ''}` : `${b.name} · CPU`;
  return `${b.name}${b.adapter ? ` · ${b.adapter}` : ''}`;
}

/** The one line that says why this backend runs the model. */
export function backendWhy(b: BackendReport): string {
  if (b.why) return b.why;
  if (b.fallbackReason) return b.fallbackReason;
  if (backendKind(b) === 'software-gpu') return 'WebGPU runs on a software renderer here: expect it to be slower than wasm.';
  return b.name === 'webgpu' ? 'WebGPU on a hardware GPU.' : `Running on ${b.name}.`;
}

export function timingsText(b: BackendReport): string {
  if (!b.timings || b.timings.length === 0) return 'No measurement was reported.';
  return b.timings.map((t) => `${t.name}: ${t.ms === null ? `could not run${t.error ? ` (${t.error})` : ''}` : `${t.ms.toFixed(t.ms < 10 ? 1 : 0)} ms`}`).join(' · ');
}

const OVERRIDES: BackendName[] = ['webgpu', 'wasm', 'cpu'];

/** The projector view has room for the kind only; the adapter stays in the tooltip. */
export function shortBackendLabel(b: BackendReport): string {
  const kind = backendKind(b);
  return kind === 'gpu' ? `${b.name} · GPU` : kind === 'software-gpu' ? `${b.name} · software` : `${b.name} · CPU`;
}

export function BackendBadge({ short = false }: { short?: boolean }) {
  const backend = useAppStore((s) => s.backend);
  const runState = useAppStore((s) => s.runState);
  const lastSource = useAppStore((s) => s.lastSource);
  const load = useAppStore((s) => s.load);
  const [open, setOpen] = useState(false);
  if (!backend) return null;
  const kind = backendKind(backend);
  const why = backendWhy(backend);
  const timings = timingsText(backend);
  const busy = runState === 'loading' || runState === 'running' || runState === 'stopping';
  return (
    <div className="backend">
      <button
        type="button"
        className={`badge backend-badge backend-${kind}`}
        data-testid="backend-badge"
        data-kind={kind}
        title={`${why}\nMeasured: ${timings}\nClick to see the measurement or switch backend.`}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
      >
        {short ? shortBackendLabel(backend) : backendLabel(backend)}
      </button>
      <span className={`backend-why ${kind === 'gpu' ? '' : 'warn'}`} data-testid="backend-why" title={why}>
        {why}
      </span>
      {open && (
        <div className="backend-details" role="dialog" aria-label="Backend measurement">
          <p>{why}</p>
          <p className="note" data-testid="backend-timings">
            Measured at load (a matmul and a tiny forward, lower is faster): {timings}
          </p>
          <div className="buttons">
            {OVERRIDES.map((name) => (
              <button
                key={name}
                type="button"
                className="small"
                disabled={busy || name === backend.name}
                onClick={() => {
                  setOpen(false);
                  load(lastSource ?? { kind: 'embedded' }, name);
                }}
              >
                Reload on {name}
              </button>
            ))}
            <button type="button" className="small" onClick={() => setOpen(false)}>
              Close
            </button>
          </div>
          {busy && <p className="note">Stop the run to switch backend.</p>}
        </div>
      )}
    </div>
  );
}
