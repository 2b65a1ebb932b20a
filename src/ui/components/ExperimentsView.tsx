/**
 * The Experiments view: SPARKLE's four findings as named recipes, each with the command that runs
 * it and, where one is stored (public/experiments/<name>.json, a run's result.json) or opened
 * from disk, its table and plot. Running a recipe in the page is not offered yet: use the CLI.
 */
import { useEffect, useState } from 'react';
import { EXPERIMENT_NAMES, RECIPES, recipeCommand, type ExperimentName } from '../../core/experiments/recipes';
import type { ExperimentResult } from '../../core/experiments/runner';
import { ALL_FIGURES, FIGURE_LABELS, formatCell, isEffect, summarise } from '../../core/experiments/table';
import { experimentSvg } from '../../core/experiments/plot';

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

function ResultTable({ result }: { result: ExperimentResult }) {
  const t = summarise(result);
  const focus = RECIPES[result.experiment].focus;
  const figures = [...focus, ...ALL_FIGURES.filter((f) => !focus.includes(f))];
  return (
    <div className="experiment-result">
      <p className="hint">
        {t.metric}. Each cell: mean over seeds (95% interval over problems) ±sd over seeds; effects in points.{t.complete ? '' : ' Incomplete run: only these arms finished.'}
      </p>
      <div className="table-scroll">
        <table>
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
            {t.arms.map((a) => (
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
      <div className="experiment-plot" dangerouslySetInnerHTML={{ __html: experimentSvg(result) }} />
    </div>
  );
}

export function ExperimentsView() {
  const [stored, setStored] = useState<Partial<Record<ExperimentName, ExperimentResult>>>({});
  const [opened, setOpened] = useState<ExperimentResult | null>(null);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
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
  }, []);

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
        SPARKLE's four findings as seeded recipes. Run one from a terminal in the project folder; it writes table.md, table.json, result.json and plot.svg into its
        --out folder. Open a result.json here to see its table. (Running a recipe inside the page is not available yet.)
      </p>
      <label className="file-open">
        Open a result.json: <input type="file" accept=".json,application/json" onChange={(e) => void open(e.target.files?.[0])} />
      </label>
      {error && <p className="error">{error}</p>}
      {opened && (
        <article className="experiment">
          <h3>{RECIPES[opened.experiment].title} (opened file)</h3>
          <ResultTable result={opened} />
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
            {stored[n] ? <ResultTable result={stored[n]} /> : <p className="hint">No stored result for this recipe.</p>}
          </article>
        );
      })}
    </section>
  );
}
