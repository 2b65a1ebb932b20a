/** Keep and take away: checkpoints, the trained model's files, metrics as CSV/JSONL, a TRL script, a share link. */
import { useEffect, useState } from 'react';
import { downloadFile } from '../download';
import { encodeSettingsHash } from '../config-schema';
import { defaultModelRef, exportTrl, TrlExportError, type TrlModelRef } from '../export-trl';
import { shareLink } from '../share-link';
import { metricsToCsv, metricsToJsonl } from '../metrics-export';
import { useAppStore, useStoreApi } from '../store-context';

export function ExportPanel() {
  const api = useStoreApi();
  const checkpoints = useAppStore((s) => s.checkpoints);
  const exported = useAppStore((s) => s.exported);
  const clearExported = useAppStore((s) => s.clearExported);
  const save = useAppStore((s) => s.save);
  const exportModel = useAppStore((s) => s.exportModel);
  const model = useAppStore((s) => s.model);
  const steps = useAppStore((s) => s.metrics.steps.length);
  const [copied, setCopied] = useState<string | null>(null);
  const lastSource = useAppStore((s) => s.lastSource);
  const modelFolder = useAppStore((s) => s.modelFolder);
  const [trlModel, setTrlModel] = useState<TrlModelRef | null>(null);
  const [trlNote, setTrlNote] = useState<string | null>(null);
  const modelRef = trlModel ?? defaultModelRef(lastSource as { kind: string; repo?: string; baseUrl?: string } | null, model?.name ?? null, modelFolder);
  const modelText = modelRef.kind === 'hub' ? modelRef.repo : modelRef.path;

  // The worker answers an export command with the files; hand each to the browser as a download.
  useEffect(() => {
    if (!exported) return;
    for (const f of exported) downloadFile(f.name, f.data);
    clearExported();
  }, [exported, clearExported]);

  const shareUrl = () => {
    const link = shareLink(api.getState());
    return { url: `${location.origin}${location.pathname}${location.search}${link.hash}`, note: link.note };
  };
  const downloadTrl = () => {
    const s = api.getState();
    try {
      const out = exportTrl({ config: s.config, model: modelRef, task: s.task, builtinRewards: s.builtinRewards, userRewards: s.userRewards });
      downloadFile(out.script.name, out.script.text, 'text/x-python');
      downloadFile(out.dataset.name, out.dataset.text, 'application/jsonl');
      const stubs = out.stubbed.map((x) => `“${x.name}” (it uses ${x.reason})`).join(', ');
      setTrlNote(`Wrote ${out.script.name} and ${out.dataset.name} (${out.dataset.rows} problems). Put them in one folder and run python ${out.script.name}.${stubs ? ` Port by hand: ${stubs}; the script has the JavaScript in a comment.` : ''}`);
    } catch (e) {
      // A data set that does not parse says so here too (JsonlError, TaskError), not only in the console.
      setTrlNote(e instanceof TrlExportError ? e.message : `Could not export: ${e instanceof Error ? e.message : String(e)}`);
    }
  };
  const stamp = () => new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);

  return (
    <section className="export-panel">
      <h3>Checkpoints</h3>
      <p>The worker saves in this browser every few steps; after a reload the page offers to resume.</p>
      <button type="button" onClick={save} disabled={!model}>
        Save checkpoint now
      </button>
      {checkpoints.length > 0 && (
        <ul className="checkpoints">
          {checkpoints
            .slice()
            .reverse()
            .map((c, i) => (
              <li key={i}>
                step {c.step} → {c.where}
              </li>
            ))}
        </ul>
      )}
      <h3>Download</h3>
      <div className="buttons wrap">
        <button type="button" onClick={exportModel} disabled={!model} data-testid="export-model">
          Trained model (safetensors + config + tokenizer)
        </button>
        <button type="button" disabled={steps === 0} onClick={() => downloadFile(`tabzero-metrics-${stamp()}.csv`, metricsToCsv(api.getState().metrics), 'text/csv')}>
          Metrics CSV
        </button>
        <button type="button" disabled={steps === 0} onClick={() => downloadFile(`tabzero-metrics-${stamp()}.jsonl`, metricsToJsonl(api.getState().metrics), 'application/jsonl')}>
          Metrics JSONL
        </button>
      </div>
      <h3>Run it with TRL</h3>
      <p>A Python script (GRPOConfig with these settings, the reward functions in Python) and the task as a dataset file with a <code>prompt</code> column in TabZero’s own template.</p>
      <div className="trl-export">
        <label>
          Model for TRL{' '}
          <input
            data-testid="trl-model"
            value={modelText}
            placeholder="owner/name or ./folder-with-the-model-files"
            onChange={(e) => {
              const v = e.target.value;
              setTrlModel(/^[\w.-]+\/[\w.-]+$/.test(v.trim()) && !v.trim().startsWith('.') ? { kind: 'hub', repo: v } : { kind: 'local', path: v });
            }}
          />
        </label>
        <label className="small-picker">
          or pick the folder{' '}
          <input
            type="file"
            multiple
            aria-label="model folder for TRL"
            {...({ webkitdirectory: '' } as Record<string, string>)}
            onChange={(e) => {
              // Browsers reveal the picked folder's name, never its full path: the script gets ./name, which you can edit.
              const first = e.target.files?.[0];
              const folder = first?.webkitRelativePath.split('/')[0];
              if (folder) setTrlModel({ kind: 'local', path: `./${folder}` });
            }}
          />
        </label>
        <small className="help">A Hub id (owner/name) or the folder you saved the trained model’s files in (relative to where you run the script).</small>
        <button type="button" data-testid="export-trl" onClick={downloadTrl}>
          TRL script + dataset
        </button>
        {trlNote && <p className="note" data-testid="trl-note">{trlNote}</p>}
      </div>
      <h3>Share the run</h3>
      <p>A link that opens this page with the same settings, task, reward functions and weights, and view.</p>
      <div className="buttons">
        <button
          type="button"
          onClick={async () => {
            const { url, note } = shareUrl();
            history.replaceState(null, '', url);
            try {
              await navigator.clipboard.writeText(url);
              setCopied(`Link copied.${note ? ` ${note}` : ''}`);
            } catch {
              setCopied(`The address bar now holds the link; copy it from there.${note ? ` ${note}` : ''}`);
            }
          }}
        >
          Copy share link
        </button>
        {copied && <span className="note">{copied}</span>}
      </div>
    </section>
  );
}
