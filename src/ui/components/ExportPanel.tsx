/** Keep and take away: checkpoints, the trained model's files, metrics as CSV/JSONL, a TRL script, a share link. */
import { useEffect, useState } from 'react';
import { downloadFile } from '../download';
import { encodeSettingsHash } from '../config-schema';
import { exportTrlScript } from '../export-trl';
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

  // The worker answers an export command with the files; hand each to the browser as a download.
  useEffect(() => {
    if (!exported) return;
    for (const f of exported) downloadFile(f.name, f.data);
    clearExported();
  }, [exported, clearExported]);

  const shareUrl = () => {
    const s = api.getState();
    const hash = encodeSettingsHash({ config: s.config, probeEvery: s.probeEvery, preset: s.preset ?? undefined, task: s.task.kind === 'jsonl' ? undefined : s.task.kind });
    return `${location.origin}${location.pathname}${location.search}${hash}`;
  };
  const trlScript = () => {
    const s = api.getState();
    const src = s.lastSource;
    const modelId = src?.kind === 'hub' ? src.repo : `./${s.model?.name ?? 'tabzero-tiny'}  # the exported folder`;
    return exportTrlScript({ config: s.config, modelId: modelId.split('  #')[0]!, task: s.task, builtinRewards: s.builtinRewards, userRewards: s.userRewards });
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
        <button type="button" onClick={() => downloadFile('tabzero_grpo_trl.py', trlScript(), 'text/x-python')}>
          TRL script (GRPOConfig + reward stubs)
        </button>
      </div>
      <h3>Share settings</h3>
      <p>A link that opens this page with the same GRPO settings.</p>
      <div className="buttons">
        <button
          type="button"
          onClick={async () => {
            const url = shareUrl();
            history.replaceState(null, '', url);
            try {
              await navigator.clipboard.writeText(url);
              setCopied('Link copied.');
            } catch {
              setCopied('The address bar now holds the link; copy it from there.');
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
