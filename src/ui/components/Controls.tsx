/** Start / Pause / Step / Stop / Reset, with the run state and the current step in words. */
import { useAppStore } from '../store-context';
import { checkRewardSyntax } from '../reward-check';
import { activityText } from '../activity';

const STATE_WORDS: Record<string, string> = {
  idle: 'No model loaded',
  loading: 'Loading model…',
  ready: 'Ready',
  running: 'Training',
  paused: 'Paused',
  stopping: 'Stopping…',
  error: 'Error',
};

export function Controls({ compact = false }: { compact?: boolean }) {
  const runState = useAppStore((st) => st.runState);
  const reason = useAppStore((st) => st.stateReason);
  const activity = useAppStore((st) => st.activity);
  const starting = useAppStore((st) => st.starting);
  const lastStep = useAppStore((st) => st.metrics.steps[st.metrics.steps.length - 1] ?? 0);
  const rewards = useAppStore((st) => st.userRewards);
  const a = useAppStore((st) => st.start);
  const pause = useAppStore((st) => st.pause);
  const resume = useAppStore((st) => st.resume);
  const step = useAppStore((st) => st.step);
  const stop = useAppStore((st) => st.stop);
  const reset = useAppStore((st) => st.reset);
  const badReward = rewards.find((r) => !checkRewardSyntax(r.source).ok);
  // An experiment trains its own copies of the model; the worker refuses a run beside it, so the button says so first.
  const experimentRunning = useAppStore((st) => st.experiments.some((e) => e.status === 'running'));
  const canStart = (runState === 'ready' || runState === 'error') && !badReward && !starting && !experimentRunning;
  const text = activityText(runState, activity, starting);
  const busy = runState === 'running' || starting;
  return (
    <section className={`controls ${compact ? 'compact' : ''}`} aria-label="Run controls">
      <div className="status-line">
        <span className={`state-dot state-${runState}`} aria-hidden />
        <strong data-testid="run-state">{STATE_WORDS[runState] ?? runState}</strong>
        <span className="step-count" data-testid="step-count">
          step {lastStep}
        </span>
      </div>
      {reason && !compact && <div className="state-reason">{reason}</div>}
      {experimentRunning && !compact && <div className="state-reason">An experiment is running (Experiments tab); training waits for it.</div>}
      <div className="activity" aria-live="polite">
        <span data-testid="activity">{text ?? ' '}</span>
        {!compact && activity && text && activity.phase !== 'save' && <progress max={activity.total || 1} value={activity.done} />}
      </div>
      <div className="buttons">
        {runState === 'paused' ? (
          <button type="button" className="primary" onClick={resume} title="Resume (space)">
            ▶ Resume
          </button>
        ) : (
          <button type="button" className="primary" onClick={() => a()} disabled={!canStart} title={badReward ? `Fix the syntax error in reward “${badReward.name}” first` : experimentRunning ? 'An experiment is running (Experiments tab): stop it or let it finish first' : 'Start training'}>
            ▶ Start
          </button>
        )}
        <button type="button" onClick={pause} disabled={!busy} title="Pause (space)">
          ❚❚ Pause
        </button>
        <button type="button" onClick={step} disabled={runState !== 'paused'} title="One GRPO step (s)">
          Step
        </button>
        <button type="button" onClick={stop} disabled={!busy && runState !== 'paused'}>
          ■ Stop
        </button>
        {!compact && <button
          type="button"
          onClick={() => {
            if (lastStep === 0 || window.confirm('Reset the weights to the base model? The trained weights are lost unless exported.')) reset();
          }}
          disabled={runState === 'loading' || runState === 'idle' || runState === 'running'}
          title="Throw away training and go back to the base model"
        >
          ↺ Reset
        </button>}
      </div>
      {badReward && <p className="warn">Reward “{badReward.name}” has a syntax error; see the Reward tab.</p>}
    </section>
  );
}
