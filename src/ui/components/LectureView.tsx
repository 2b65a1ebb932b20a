/**
 * The projector view: no sidebar, the reward curve, the probe curves, the base-vs-now table and one
 * more metric, each filling a quarter of the screen so they read from the back of a lecture hall.
 */
import { useMemo, useState } from 'react';
import { defaultOtherMetric, rewardChart } from '../chart-data';
import { useAppStore } from '../store-context';
import { BaseVsNowTable, ProbeChart } from './ProbePanel';
import { UPlotChart } from './UPlotChart';

const NOT_OTHER = new Set(['reward', 'reward_std']);

export function LectureView({ styleKey }: { styleKey: string }) {
  const metrics = useAppStore((s) => s.metrics);
  const probes = useAppStore((s) => s.probes);
  const reward = useMemo(() => rewardChart(metrics, { band: false }), [metrics]);
  const names = useMemo(() => Object.keys(metrics.series).filter((n) => !NOT_OTHER.has(n)).sort(), [metrics]);
  const [other, setOther] = useState('');
  const pick = other && metrics.series[other] ? other : defaultOtherMetric(names);
  return (
    <div className="lecture-grid">
      <section className="lecture-cell lecture-reward">
        {reward ? <UPlotChart model={reward} fill styleKey={styleKey} /> : <p className="empty">Press Start: the reward of every step appears here, with the mean of the last 5 steps as a line.</p>}
      </section>
      <section className="lecture-cell lecture-table">
        <BaseVsNowTable compact />
      </section>
      <section className="lecture-cell lecture-probes" data-testid="probe-panel" data-reports={probes.length}>
        <ProbeChart styleKey={styleKey} fill subproblems={false} fitY />
      </section>
      <section className="lecture-cell lecture-other">
        {pick ? (
          <>
            <select className="other-pick" value={pick} onChange={(e) => setOther(e.target.value)} aria-label="Other metric">
              {names.map((n) => (
                <option key={n}>{n}</option>
              ))}
            </select>
            <UPlotChart model={{ id: `other-${pick}`, title: pick, x: metrics.steps, lines: [{ label: pick, values: metrics.series[pick]! }], help: 'Any metric the worker reports.' }} fill styleKey={styleKey} />
          </>
        ) : (
          <p className="empty">More metrics appear after the first step.</p>
        )}
      </section>
    </div>
  );
}
