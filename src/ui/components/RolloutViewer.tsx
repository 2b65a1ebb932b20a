/** The latest groups: each prompt with its G completions, rewards and advantages; tokens tinted by advantage. */
import { useMemo, useState } from 'react';
import type { RolloutView } from '../../worker/protocol';
import { useAppStore } from '../store-context';

type Completion = RolloutView['completions'][number];

/** Green for positive advantage, red for negative; opacity grows with |A| relative to the batch's largest. */
export function advantageTint(advantage: number, maxAbs: number): string {
  if (!Number.isFinite(advantage) || maxAbs <= 0 || advantage === 0) return 'transparent';
  const a = Math.min(1, Math.abs(advantage) / maxAbs) * 0.45;
  return advantage > 0 ? `rgba(63, 185, 80, ${a.toFixed(3)})` : `rgba(248, 81, 73, ${a.toFixed(3)})`;
}

export function filterCompletions(groups: RolloutView[], min: number | null, max: number | null): RolloutView[] {
  return groups
    .map((g) => ({ ...g, completions: g.completions.filter((c) => (min === null || c.reward >= min) && (max === null || c.reward <= max)) }))
    .filter((g) => g.completions.length > 0);
}

function num(v: number, digits = 2): string {
  return Number.isFinite(v) ? v.toFixed(digits) : String(v);
}

function Breakdown({ c, onClose }: { c: Completion; onClose: () => void }) {
  return (
    <div className="breakdown" role="dialog" aria-label="Reward breakdown">
      <button type="button" className="small close" onClick={onClose} aria-label="Close">
        ×
      </button>
      <h4>Reward breakdown</h4>
      <table>
        <tbody>
          {Object.entries(c.rewards).map(([name, v]) => (
            <tr key={name}>
              <th scope="row">{name}</th>
              <td>{v === null ? 'n/a' : num(v, 3)}</td>
            </tr>
          ))}
          <tr className="total">
            <th scope="row">weighted reward</th>
            <td>{num(c.reward, 3)}</td>
          </tr>
          <tr>
            <th scope="row">advantage</th>
            <td>{num(c.advantage, 3)}</td>
          </tr>
          <tr>
            <th scope="row">finished by</th>
            <td>{c.finish === 'length' ? 'max length (truncated)' : c.finish}</td>
          </tr>
        </tbody>
      </table>
      <pre className="completion-text">{c.text}</pre>
    </div>
  );
}

export function RolloutViewer() {
  const rollouts = useAppStore((s) => s.rollouts);
  const [min, setMin] = useState<string>('');
  const [max, setMax] = useState<string>('');
  const [selected, setSelected] = useState<{ g: number; i: number } | null>(null);
  const parsed = (t: string) => (t.trim() === '' || !Number.isFinite(Number(t)) ? null : Number(t));
  const groups = useMemo(() => (rollouts ? filterCompletions(rollouts.groups, parsed(min), parsed(max)) : []), [rollouts, min, max]);
  const maxAbs = useMemo(() => Math.max(0, ...(rollouts?.groups ?? []).flatMap((g) => g.completions.map((c) => (Number.isFinite(c.advantage) ? Math.abs(c.advantage) : 0)))), [rollouts]);

  if (!rollouts) return <p className="empty">Rollouts appear here after the first step.</p>;
  const sel = selected ? groups[selected.g]?.completions[selected.i] : undefined;
  return (
    <section className="rollouts" data-testid="rollouts">
      <div className="rollout-toolbar">
        <span>
          Step {rollouts.step}: {rollouts.groups.length} groups
        </span>
        <label>
          reward ≥ <input type="number" step="any" value={min} onChange={(e) => setMin(e.target.value)} aria-label="minimum reward" />
        </label>
        <label>
          reward ≤ <input type="number" step="any" value={max} onChange={(e) => setMax(e.target.value)} aria-label="maximum reward" />
        </label>
        <span className="legend">
          <span className="swatch" style={{ background: advantageTint(1, 1) }} /> advantage &gt; 0 <span className="swatch" style={{ background: advantageTint(-1, 1) }} /> advantage &lt; 0
        </span>
      </div>
      <div className="rollout-body">
        <div className="groups">
          {groups.map((g, gi) => (
            <article key={g.problemId} className="group">
              <header>
                <span className="pid">{g.problemId}</span>
                <p className="prompt">{g.prompt}</p>
              </header>
              <ol>
                {g.completions.map((c, ci) => (
                  <li key={ci} className={selected?.g === gi && selected.i === ci ? 'selected' : ''}>
                    <button type="button" className="completion" onClick={() => setSelected({ g: gi, i: ci })} data-testid="completion">
                      <span className="nums">
                        <span title="reward">r {num(c.reward)}</span>
                        <span title="advantage" className={c.advantage > 0 ? 'pos' : c.advantage < 0 ? 'neg' : ''}>
                          A {c.advantage > 0 ? '+' : ''}
                          {num(c.advantage)}
                        </span>
                        {c.finish === 'length' && <span className="tag" title="cut at max_completion_length">cut</span>}
                      </span>
                      <span className="tokens">
                        {(c.tokens.length ? c.tokens : [c.text]).map((t, ti) => (
                          <span key={ti} style={{ background: advantageTint(c.advantage, maxAbs) }}>
                            {t}
                          </span>
                        ))}
                      </span>
                    </button>
                  </li>
                ))}
              </ol>
            </article>
          ))}
          {groups.length === 0 && <p className="empty">No completion has a reward in that range.</p>}
        </div>
        {sel && <Breakdown c={sel} onClose={() => setSelected(null)} />}
      </div>
    </section>
  );
}
