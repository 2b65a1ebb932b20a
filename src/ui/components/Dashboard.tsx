/** The live training charts, one uPlot per metric group, plus a picker for any other reported metric. */
import { useMemo, useState } from 'react';
import { defaultOtherMetric, metricCharts, otherMetricNames } from '../chart-data';
import { useAppStore } from '../store-context';
import { UPlotChart } from './UPlotChart';

export function Dashboard({ styleKey }: { styleKey: string }) {
  const metrics = useAppStore((s) => s.metrics);
  const charts = useMemo(() => metricCharts(metrics), [metrics]);
  const others = useMemo(() => otherMetricNames(metrics), [metrics]);
  const [other, setOther] = useState<string>('');
  const pick = other && metrics.series[other] ? other : defaultOtherMetric(others);

  if (metrics.steps.length === 0) {
    return <p className="empty">No steps yet. Press <kbd>Start</kbd> (or Step after pausing) and the charts fill in as the worker reports each GRPO step.</p>;
  }
  return (
    <div className="chart-grid">
      {charts.map((c) => (
        <UPlotChart key={c.id} model={c} styleKey={styleKey} />
      ))}
      {pick && (
        <div className="other-metric">
          <label>
            Other metric{' '}
            <select value={pick} onChange={(e) => setOther(e.target.value)}>
              {others.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
          </label>
          <UPlotChart model={{ id: `other-${pick}`, title: pick, x: metrics.steps, lines: [{ label: pick, values: metrics.series[pick]! }], help: 'Any metric the worker reports.' }} styleKey={styleKey} />
        </div>
      )}
    </div>
  );
}
