/** The probe chart (plain / +plan / +knowledge / subproblems over steps) and the paper-style base-vs-now table. */
import { useMemo } from 'react';
import { baseVsNow, probeChart, type ComparisonRow } from '../chart-data';
import { useAppStore } from '../store-context';
import { UPlotChart } from './UPlotChart';

function fmt(v: number | null, signed: boolean): string {
  if (v === null) return '—';
  const s = v.toFixed(1);
  return signed && v > 0 ? `+${s}` : s;
}

function deltaClass(v: number | null): string {
  if (v === null || v === 0) return '';
  return v > 0 ? 'pos' : 'neg';
}

function Row({ r }: { r: ComparisonRow }) {
  return (
    <tr className={r.isEffect ? 'effect' : ''}>
      <th scope="row">{r.label}</th>
      <td className={r.isEffect ? deltaClass(r.base) : ''}>{fmt(r.base, r.isEffect)}</td>
      <td className={r.isEffect ? deltaClass(r.now) : ''}>{fmt(r.now, r.isEffect)}</td>
      <td className={deltaClass(r.delta)}>{fmt(r.delta, true)}</td>
      <td className={`paper ${deltaClass(r.paperBase)}`}>{fmt(r.paperBase, true)}</td>
      <td className={`paper ${deltaClass(r.paperRl)}`}>{fmt(r.paperRl, true)}</td>
    </tr>
  );
}

export function ProbePanel({ styleKey }: { styleKey: string }) {
  const probes = useAppStore((s) => s.probes);
  const runState = useAppStore((s) => s.runState);
  const evalProbes = useAppStore((s) => s.evalProbes);
  const chart = useMemo(() => probeChart(probes), [probes]);
  const table = useMemo(() => baseVsNow(probes), [probes]);
  const canEval = runState === 'ready' || runState === 'paused';
  return (
    <section className="probe-panel" data-testid="probe-panel" data-reports={probes.length}>
      <div className="probe-chart">
        {probes.length === 0 ? <p className="empty">No probe evaluation yet: it runs at step 0 and every few steps.</p> : <UPlotChart model={chart} height={230} styleKey={styleKey} />}
      </div>
      <div className="probe-table">
        <table data-testid="base-vs-now">
          <caption>
            Base (step {table.baseStep ?? '—'}) vs now (step {table.nowStep ?? '—'}), in % and points{' '}
            <button type="button" className="small" onClick={evalProbes} disabled={!canEval} title="Evaluate the probe set on the current weights">
              Evaluate now
            </button>
          </caption>
          <thead>
            <tr>
              <th />
              <th>Base</th>
              <th>Now</th>
              <th>Δ</th>
              <th className="paper" title="SPARKLE paper, average over benchmarks: base model">Paper base</th>
              <th className="paper" title="SPARKLE paper, average over benchmarks: RL-tuned model">Paper RL</th>
            </tr>
          </thead>
          <tbody>
            {table.rows.map((r) => (
              <Row key={r.label} r={r} />
            ))}
          </tbody>
        </table>
        <p className="note">Effects are accuracy with the hint minus plain accuracy. The paper reports that the base model loses with a plan (−5.7) or knowledge (−5.4), while the RL model gains (+1.6, +4.3).</p>
      </div>
    </section>
  );
}
