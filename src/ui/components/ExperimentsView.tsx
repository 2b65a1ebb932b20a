/**
 * The Experiments view: SPARKLE's four findings as named, seeded recipes. A recipe runs here, in
 * the training worker on the loaded model (progress per arm, seed and step; the table after every
 * arm; Stop keeps what finished), or from a terminal with the command shown. Finished runs are
 * kept in the browser's storage and listed after a reload, with their table, plot and files;
 * results stored with the app (public/experiments/<name>.json) or opened from disk are shown too.
 */
import { useEffect, useState } from 'react';
import { EXPERIMENT_NAMES, RECIPES, recipeCommand, recipeSize, type ExperimentName } from '../../core/experiments/recipes';
import type { ExperimentResult } from '../../core/experiments/runner';
import { ALL_FIGURES, FIGURE_LABELS, formatCell, isEffect, summarise, tableMarkdown } from '../../core/experiments/table';
import { experimentSvg } from '../../core/experiments/plot';
import type { ExperimentPhase, ExperimentRecord, ExperimentSize, ExperimentTable, GrpoConfigPatch } from '../../worker/protocol';
import { downloadFile } from '../download';
import { useAppStore } from '../store-context';

function isResult(v: unknown): v is ExperimentResult {
  const r = v as ExperimentResult;
  return typeof r === 'object' && r !== null && typeof r.experiment === 'string' && Array.isArray(r.runs) && Array.isArray(r.arms) && (EXPERIMENT_NAMES as string[]).includes(r.experiment);
}

/** A stored result; a dev server answers a missing file with index.html, so the JSON itself is checked. */
async function fetchStored(name: ExperimentName): Promise<ExperimentResult | null> {
  try {
    const res = await fetch(`${import.meta.env.BASE_URL}experiments/${name}.json`);
    if (!res.ok) return null;
    const v: unknown = JSON.parse(await res.text());
    return isResult(v) ? v : null;
  } catch {
    return null;
  }
}

function ResultTable({ table, svg }: { table: ExperimentTable; svg: string }) {
  const focus = RECIPES[table.experiment as ExperimentName].focus;
  const figures = [...focus, ...ALL_FIGURES.filter((f) => !focus.includes(f))];
  return (
    <div className="experiment-result">
      <p className="hint">
        {table.metric}. Each cell: mean over seeds (95% interval over problems) ±sd over seeds; effects in points.{table.complete ? '' : ' Incomplete run: only these arms finished.'}
      </p>
      <div className="table-scroll">
        <table data-testid="experiment-table">
          <thead>
            <tr>
              <th>arm</th>
              <th>seeds</th>
              {figures.map((f) => (
                <th key={f}>{FIGURE_LABELS[f]}</th>
              ))}
            </tr>
          </thead>
          <tbody>
            {table.arms.map((a) => (
              <tr key={a.arm}>
                <td>{a.label}</td>
                <td>{a.seeds.length}</td>
                {figures.map((f) => (
                  <td key={f}>{formatCell(a.cells[f], isEffect(f))}</td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      {/* Our own SVG, built from numbers with every label escaped. */}
      <div className="experiment-plot" dangerouslySetInnerHTML={{ __html: svg }} />
    </div>
  );
}

function ResultOfFile({ result }: { result: ExperimentResult }) {
  return <ResultTable table={summarise(result)} svg={experimentSvg(result)} />;
}

function armLabel(r: ExperimentRecord, arm: string): string {
  if (arm === 'stage1') return 'Stage 1 (the checkpoint Stage-2 arms start from)';
  return r.result.arms.find((a) => a.id === arm)?.label ?? arm;
}

/** Where a run is, in a sentence. */
export function progressText(r: ExperimentRecord, p: ExperimentPhase): string {
  const what =
    p.phase === 'train'
      ? `training, step ${Math.min(p.done + 1, p.total)} of ${p.total}`
      : p.phase === 'probe'
        ? `probing, ${p.done} of ${p.total} completions`
        : `choosing the hard set, ${p.done} of ${p.total} completions`;
  return `${armLabel(r, p.arm)}, seed ${p.seed}: ${what} · ${p.runsDone} of ${p.runsTotal} arm runs done`;
}

const STATUS: Record<ExperimentRecord['status'], string> = {
  running: 'running',
  complete: 'complete',
  stopped: 'stopped (finished arms kept)',
  failed: 'failed (finished arms kept)',
};

function RecordView({ r }: { r: ExperimentRecord }) {
  const progress = useAppStore((s) => (s.experimentProgress?.id === r.id ? s.experimentProgress.phase : null));
  const stop = useAppStore((s) => s.stopExperiment);
  const remove = useAppStore((s) => s.deleteExperiment);
  const start = useAppStore((s) => s.startExperiment);
  const canRun = useAppStore((s) => s.model !== null && s.runState === 'ready' && !s.experimentStarting && !s.experiments.some((e) => e.status === 'running'));
  const [stopping, setStopping] = useState(false);
  // The same record comes back running after Continue: its Stop must work again.
  useEffect(() => {
    if (r.status !== 'running') setStopping(false);
  }, [r.status]);
  const s = r.result.settings;
  const base = `${r.result.experiment}-${r.result.started.slice(0, 19).replace(/[:T]/g, '-')}`;
  const fraction = progress ? (progress.runsDone + (progress.total > 0 ? progress.done / progress.total : 0) * 0.999) / Math.max(1, progress.runsTotal) : null;
  return (
    <article className="experiment" data-testid="experiment-record" data-status={r.status}>
      <h3>
        {r.result.title} <span className={`badge status-${r.status}`}>{STATUS[r.status]}</span>
      </h3>
      <p className="hint">
        Started {new Date(r.result.started).toLocaleString()} · seeds {s.seeds.join(', ')} · {s.steps} RL steps{s.stage2Steps > 0 ? ` + ${s.stage2Steps} Stage-2` : ''} · {s.probeN} probe problems ×
        Avg@{s.probeSamples} at T = {s.probeTemperature} · {s.backend ?? 'backend n/a'}
      </p>
      {r.status === 'running' && (
        <div className="experiment-progress" data-testid="experiment-progress">
          {fraction !== null && <progress max={1} value={fraction} />}
          <span>{progress ? progressText(r, progress) : 'starting…'}</span>{' '}
          <button
            type="button"
            className="small danger"
            disabled={stopping}
            onClick={() => {
              setStopping(true);
              stop();
            }}
            title="Ends the run at the next chunk of work; the arms that finished are kept"
          >
            {stopping ? 'Stopping…' : 'Stop'}
          </button>
        </div>
      )}
      {r.error && <p className="error">{r.status === 'failed' ? `Error: ${r.error}` : r.error}</p>}
      {r.table.arms.length > 0 ? <ResultTable table={r.table} svg={r.svg} /> : <p className="hint">No arm has finished yet.</p>}
      <div className="experiment-files">
        <button type="button" className="small" onClick={() => downloadFile(`${base}-result.json`, JSON.stringify(r.result, null, 1) + '\n', 'application/json')}>
          result.json
        </button>
        <button type="button" className="small" onClick={() => downloadFile(`${base}-table.md`, r.markdown, 'text/markdown')}>
          table.md
        </button>
        <button type="button" className="small" onClick={() => downloadFile(`${base}-plot.svg`, r.svg, 'image/svg+xml')}>
          plot.svg
        </button>
        {(r.status === 'stopped' || r.status === 'failed') && (
          <button
            type="button"
            className="small"
            disabled={!canRun}
            title={canRun ? 'Run the arms and seeds that did not finish, with the same settings; the finished ones are kept' : 'Needs a loaded model, no training run and no other experiment running'}
            onClick={() =>
              start(
                r.result.experiment,
                { seeds: s.seeds.length, steps: s.steps, stage2Steps: s.stage2Steps, probeN: s.probeN, samples: s.probeSamples },
                { continueId: r.id, task: s.task, grpo: { ...s.grpo } as GrpoConfigPatch },
              )
            }
          >
            Continue
          </button>
        )}
        {r.status !== 'running' && (
          <button type="button" className="small" onClick={() => remove(r.id)} title="Remove it from this browser's storage">
            Delete
          </button>
        )}
      </div>
    </article>
  );
}

const SIZE_FIELDS: [keyof ExperimentSize, string, string][] = [
  ['seeds', 'seeds', 'Seeds 1..N; every trained arm runs once per seed'],
  ['steps', 'RL steps', 'GRPO steps of each RL arm (Stage 1 in the hard-problems recipe)'],
  ['stage2Steps', 'Stage-2 steps', 'Steps of each Stage-2 arm (hard-problems only)'],
  ['probeN', 'probe problems', 'Held-out problems every arm is measured on'],
  ['samples', 'samples (k)', "Avg@k's k: completions per prompt at T = 0.6"],
];

function RunForm() {
  const runState = useAppStore((s) => s.runState);
  const model = useAppStore((s) => s.model);
  const running = useAppStore((s) => s.experiments.some((e) => e.status === 'running'));
  const starting = useAppStore((s) => s.experimentStarting);
  const start = useAppStore((s) => s.startExperiment);
  const [name, setName] = useState<ExperimentName>('plan-knowledge');
  const [sizeName, setSizeName] = useState<'quick' | 'full'>('quick');
  const [size, setSize] = useState<ExperimentSize>(() => recipeSize('plan-knowledge', 'quick'));
  const pick = (n: ExperimentName, s: 'quick' | 'full') => {
    setName(n);
    setSizeName(s);
    setSize(recipeSize(n, s));
  };
  const blocked =
    running || starting
      ? 'An experiment is running; stop it or wait for it to finish.'
      : runState === 'running' || runState === 'paused' || runState === 'stopping'
        ? 'A training run is active: stop it first (its checkpoint is kept). An experiment trains its own copies of the model and would share the CPU and memory with it.'
        : !model || runState === 'loading' || runState === 'idle'
          ? 'Load a model first (Model & data); the recipe starts from its weights as loaded.'
          : null;
  const rec = RECIPES[name];
  return (
    <form
      className="experiment-run"
      data-testid="experiment-run"
      onSubmit={(e) => {
        e.preventDefault();
        if (!blocked) start(name, size);
      }}
    >
      <h3>Run a recipe in this tab</h3>
      <div className="field-row">
        <label>
          Recipe{' '}
          <select value={name} onChange={(e) => pick(e.target.value as ExperimentName, sizeName)} aria-label="Recipe">
            {EXPERIMENT_NAMES.map((n) => (
              <option key={n} value={n}>
                {RECIPES[n].title}
              </option>
            ))}
          </select>
        </label>
        <span role="group" aria-label="Size">
          <label>
            <input type="radio" name="exp-size" checked={sizeName === 'quick'} onChange={() => pick(name, 'quick')} /> quick (a few minutes)
          </label>
          <label>
            <input type="radio" name="exp-size" checked={sizeName === 'full'} onChange={() => pick(name, 'full')} /> full (the README's size)
          </label>
        </span>
      </div>
      <p className="hint">
        {rec.question} Arms: {rec.arms.map((a) => a.label).join(' · ')}.
      </p>
      <div className="field-row">
        {SIZE_FIELDS.filter(([k]) => k !== 'stage2Steps' || rec.defaults.stage2Steps > 0).map(([k, label, help]) => (
          <label key={k} title={help}>
            {label}{' '}
            <input
              type="number"
              min={k === 'stage2Steps' ? 0 : 1}
              value={size[k]}
              aria-label={label}
              onChange={(e) => {
                const v = Math.max(k === 'stage2Steps' ? 0 : 1, Math.floor(Number(e.target.value) || 0));
                setSize((s) => ({ ...s, [k]: v }));
              }}
            />
          </label>
        ))}
      </div>
      {sizeName === 'quick' && <p className="hint">Quick: one seed and a small probe set, for watching a recipe run; its intervals are wide, so read directions, not digits.</p>}
      <button type="submit" className="primary" disabled={blocked !== null} data-testid="experiment-start">
        {starting ? 'Starting…' : 'Run experiment'}
      </button>
      {blocked && <p className="hint" data-testid="experiment-blocked">{blocked}</p>}
      <p className="hint">
        Same run from a terminal: <code>{recipeCommand(name)} --seeds {size.seeds} --steps {size.steps}{rec.defaults.stage2Steps > 0 ? ` --stage2-steps ${size.stage2Steps}` : ''} --probe-n {size.probeN} --samples {size.samples}</code>
      </p>
    </form>
  );
}

export function ExperimentsView() {
  const records = useAppStore((s) => s.experiments);
  const list = useAppStore((s) => s.listExperiments);
  const [stored, setStored] = useState<Partial<Record<ExperimentName, ExperimentResult>>>({});
  const [opened, setOpened] = useState<ExperimentResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    list();
    let live = true;
    void Promise.all(EXPERIMENT_NAMES.map(async (n) => [n, await fetchStored(n)] as const)).then((pairs) => {
      if (!live) return;
      const found: Partial<Record<ExperimentName, ExperimentResult>> = {};
      for (const [n, r] of pairs) if (r) found[n] = r;
      setStored(found);
    });
    return () => {
      live = false;
    };
  }, [list]);

  const open = async (file: File | undefined) => {
    if (!file) return;
    try {
      const v: unknown = JSON.parse(await file.text());
      if (!isResult(v)) throw new Error('this is not a result.json written by "tabzero experiment"');
      setOpened(v);
      setError(null);
    } catch (e) {
      setError(`Could not open ${file.name}: ${(e as Error).message}.`);
    }
  };

  return (
    <section className="experiments">
      <p>
        SPARKLE's four findings as seeded recipes. Each arm starts from the loaded model as loaded (not as a training run changed it) or from a Stage-1 run of it, trains with GRPO and is measured the paper's way (Avg@k at T = 0.6)
        and greedily on the same held-out problems; the table has 95% intervals over problems and the spread over seeds.
      </p>
      <RunForm />
      {records.length > 0 && <h2 className="section-title">This browser's experiments</h2>}
      {records.map((r) => (
        <RecordView key={r.id} r={r} />
      ))}
      <h2 className="section-title">Recipes and stored results</h2>
      <label className="file-open">
        Open a result.json: <input type="file" accept=".json,application/json" onChange={(e) => void open(e.target.files?.[0])} />
      </label>
      {error && <p className="error">{error}</p>}
      {opened && (
        <article className="experiment">
          <h3>{RECIPES[opened.experiment].title} (opened file)</h3>
          <ResultOfFile result={opened} />
          <div className="experiment-files">
            <button type="button" className="small" onClick={() => downloadFile(`${opened.experiment}-table.md`, tableMarkdown(opened), 'text/markdown')}>
              table.md
            </button>
          </div>
        </article>
      )}
      {EXPERIMENT_NAMES.map((n) => {
        const r = RECIPES[n];
        return (
          <article key={n} className="experiment">
            <h3>{r.title}</h3>
            <p>{r.question}</p>
            <p className="hint">Paper: {r.paper}</p>
            <p>
              Arms: {r.arms.map((a) => a.label).join(' · ')}. Defaults: {r.defaults.seeds} seeds, {r.defaults.steps} RL steps
              {r.defaults.stage2Steps > 0 ? ` + ${r.defaults.stage2Steps} Stage-2 steps` : ''}, {r.defaults.probeN} probe problems, Avg@8 at T = 0.6.
            </p>
            <pre>
              <code>{recipeCommand(n)}</code>
            </pre>
            {stored[n] ? <ResultOfFile result={stored[n]} /> : <p className="hint">No stored result for this recipe.</p>}
          </article>
        );
      })}
    </section>
  );
}
