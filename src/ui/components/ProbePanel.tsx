/** The probe chart (plain / +plan / +knowledge / subproblems over steps) and the paper-style base-vs-now table. */
import { useMemo } from 'react';
import { baseVsNow, probeChart, probeModeLabel, type ComparisonRow } from '../chart-data';
import { useAppStore } from '../store-context';
import { UPlotChart } from './UPlotChart';

function fmt(v: number | null, signed: boolean, na = false): string {
  if (na) return 'n/a';
  if (v === null) return '—';
  const s = v.toFixed(1);
  return signed && v > 0 ? `+${s}` : s;
}

function deltaClass(v: number | null): string {
  if (v === null || v === 0) return '';
  return v > 0 ? 'pos' : 'neg';
}

/** Shorter row names for the projector view, where the table shares the screen with three charts. */
const SHORT_LABELS: Record<string, string> = {
  'Plain accuracy': 'Plain',
  'With plan': '+ plan',
  'With knowledge': '+ knowledge',
  'Subproblem success': 'Subproblems',
};

function Row({ r, compact }: { r: ComparisonRow; compact: boolean }) {
  return (
    <tr className={r.isEffect ? 'effect' : ''}>
      <th scope="row" title={r.label}>{compact ? (SHORT_LABELS[r.label] ?? r.label) : r.label}</th>
      <td className={r.isEffect ? deltaClass(r.base) : ''}>{fmt(r.base, r.isEffect, r.baseNa)}</td>
      <td className={r.isEffect ? deltaClass(r.now) : ''}>{fmt(r.now, r.isEffect, r.nowNa)}</td>
      <td className={deltaClass(r.delta)}>{fmt(r.delta, true)}</td>
      <td className={`paper ${deltaClass(r.paperBase)}`}>{fmt(r.paperBase, true)}</td>
      <td className={`paper ${deltaClass(r.paperRl)}`}>{fmt(r.paperRl, true)}</td>
    </tr>
  );
}

/** The paper-style table: the first probe (the base model) against the latest. */
export function BaseVsNowTable({ compact = false }: { compact?: boolean }) {
  const probes = useAppStore((s) => s.probes);
  const runState = useAppStore((s) => s.runState);
  const evalProbes = useAppStore((s) => s.evalProbes);
  const table = useMemo(() => baseVsNow(probes), [probes]);
  const sorted = useMemo(() => [...probes].sort((a, b) => a.step - b.step), [probes]);
  const baseMode = sorted[0] ? probeModeLabel(sorted[0]) : null;
  const nowMode = sorted.length > 1 ? probeModeLabel(sorted[sorted.length - 1]!) : null;
  const canEval = runState === 'ready' || runState === 'paused';
  return (
    <div className="probe-table">
      <table data-testid="base-vs-now">
        <caption>
          Base (step {table.baseStep ?? '—'}{baseMode ? `, ${baseMode}` : ''}) vs now (step {table.nowStep ?? '—'}{nowMode ? `, ${nowMode}` : ''}){compact ? '' : ', in % and points'}{' '}
          {!compact && (
            <button type="button" className="small" onClick={evalProbes} disabled={!canEval} title="Evaluate the probe set on the current weights">
              Evaluate now
            </button>
          )}
        </caption>
        <thead>
          <tr>
            <th />
            <th>Base</th>
            <th>Now</th>
            <th>Δ</th>
            <th className="paper" title="SPARKLE paper, average over benchmarks: base model">
              Paper base
            </th>
            <th className="paper" title="SPARKLE paper, average over benchmarks: RL-tuned model">
              Paper RL
            </th>
          </tr>
        </thead>
        <tbody>
          {table.rows.map((r) => (
            <Row key={r.label} r={r} compact={compact} />
          ))}
        </tbody>
      </table>
      {!compact && (
        <p className="note">
          Effects are accuracy with the hint minus plain accuracy; n/a where the data set has no plan or knowledge. The paper reports that the base model loses with a plan (−5.7) or knowledge (−5.4), while the RL model gains (+1.6, +4.3).
        </p>
      )}
    </div>
  );
}

export function ProbeChart({ styleKey, fill = false, subproblems = true, fitY = false, height = 230 }: { styleKey: string; fill?: boolean; subproblems?: boolean; fitY?: boolean; height?: number }) {
  const probes = useAppStore((s) => s.probes);
  const chart = useMemo(() => probeChart(probes, { subproblems, fitY }), [probes, subproblems, fitY]);
  if (probes.length === 0) return <p className="empty">No probe evaluation yet: it runs at step 0 and every few steps.</p>;
  const modes = [...new Set(probes.map(probeModeLabel))];
  return (
    <>
      <UPlotChart model={chart} height={height} fill={fill} styleKey={styleKey} />
      <p className="hint probe-mode" data-testid="probe-mode">
        Measured {modes.join(' and ')}
      </p>
    </>
  );
}

export function ProbePanel({ styleKey }: { styleKey: string }) {
  const probes = useAppStore((s) => s.probes);
  return (
    <section className="probe-panel" data-testid="probe-panel" data-reports={probes.length}>
      <div className="probe-chart">
        <ProbeChart styleKey={styleKey} />
      </div>
      <BaseVsNowTable />
    </section>
  );
}
