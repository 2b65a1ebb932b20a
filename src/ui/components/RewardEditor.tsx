/**
 * Reward functions: built-ins with weights, and user JavaScript `(completion, problem) => number`.
 * The page only checks syntax; the worker runs the code under a time limit and reports errors,
 * which show here at their line.
 */
import { useRef } from 'react';
import type { UserRewardSpec } from '../../worker/protocol';
import { checkRewardSyntax } from '../reward-check';
import { DEFAULT_REWARD_SOURCE, type ErrorReport } from '../store';
import { useAppStore } from '../store-context';

const BUILTIN_HELP: Record<string, string> = {
  correctness: '1 when the <answer> matches the reference answer.',
  format: '1 when the completion is <think>…</think><answer>…</answer>.',
  hierarchical: 'SPARKLE: −1 wrong, 0 for "I don\'t know", +1 right but badly formatted, +2 right and well formatted.',
};

interface InlineError {
  source: 'page' | 'worker';
  message: string;
  line?: number;
  column?: number;
}

function RewardItem({ reward, index, workerError }: { reward: UserRewardSpec; index: number; workerError?: ErrorReport }) {
  const rewards = useAppStore((s) => s.userRewards);
  const setRewards = useAppStore((s) => s.setUserRewards);
  const gutter = useRef<HTMLDivElement>(null);
  const update = (patch: Partial<UserRewardSpec>) => setRewards(rewards.map((r, i) => (i === index ? { ...r, ...patch } : r)));
  const check = checkRewardSyntax(reward.source);
  const error: InlineError | null = !check.ok
    ? { source: 'page', message: check.message, line: check.line, column: check.column }
    : workerError
      ? { source: 'worker', message: workerError.message, line: workerError.reward?.line, column: workerError.reward?.column }
      : null;
  const lines = reward.source.split('\n');
  return (
    <article className="reward-item" data-testid={`reward-${reward.name}`}>
      <header>
        <label>
          name <input value={reward.name} onChange={(e) => update({ name: e.target.value.replace(/[^\w-]/g, '_') })} aria-label="reward name" />
        </label>
        <label>
          weight <input type="number" step="any" value={reward.weight} onChange={(e) => update({ weight: Number(e.target.value) })} aria-label="reward weight" />
        </label>
        <button type="button" className="small" onClick={() => setRewards(rewards.filter((_, i) => i !== index))}>
          Remove
        </button>
      </header>
      <div className={`code-editor ${error ? 'has-error' : ''}`}>
        <div className="gutter" ref={gutter} aria-hidden>
          {lines.map((_, i) => (
            <div key={i} className={error?.line === i + 1 ? 'error-line' : ''}>
              {i + 1}
            </div>
          ))}
        </div>
        <textarea
          spellCheck={false}
          value={reward.source}
          rows={Math.max(6, lines.length + 1)}
          aria-label={`source of reward ${reward.name}`}
          onChange={(e) => update({ source: e.target.value })}
          onScroll={(e) => {
            if (gutter.current) gutter.current.scrollTop = (e.target as HTMLTextAreaElement).scrollTop;
          }}
        />
      </div>
      {error && (
        <p className="reward-error" role="alert" data-testid="reward-error">
          {error.line !== undefined && (
            <strong>
              Line {error.line}
              {error.column !== undefined ? `, column ${error.column}` : ''}:{' '}
            </strong>
          )}
          {error.message}
          <span className="who">{error.source === 'page' ? ' (syntax check in the page)' : ' (reported by the worker while running it)'}</span>
        </p>
      )}
    </article>
  );
}

export function RewardEditor() {
  const builtins = useAppStore((s) => s.builtinRewards);
  const setWeight = useAppStore((s) => s.setBuiltinWeight);
  const rewards = useAppStore((s) => s.userRewards);
  const setRewards = useAppStore((s) => s.setUserRewards);
  const rewardErrors = useAppStore((s) => s.rewardErrors);
  const runState = useAppStore((s) => s.runState);
  const add = () => {
    let n = rewards.length + 1;
    while (rewards.some((r) => r.name === `my_reward_${n}`)) n++;
    setRewards([...rewards, { name: `my_reward_${n}`, source: DEFAULT_REWARD_SOURCE, weight: 1 }]);
  };
  return (
    <section className="reward-editor">
      <h3>Built-in rewards</h3>
      <div className="builtins">
        {builtins.map((b) => (
          <label key={b.name} title={BUILTIN_HELP[b.name]}>
            <code>{b.name}</code>
            <input type="number" step="any" value={b.weight} onChange={(e) => setWeight(b.name, Number(e.target.value))} aria-label={`${b.name} weight`} />
            <small>{BUILTIN_HELP[b.name]}</small>
          </label>
        ))}
      </div>
      <h3>Your reward functions</h3>
      <p className="note">
        JavaScript <code>(completion, problem) =&gt; number</code> (or <code>null</code> for “not applicable”). <code>problem</code> has <code>question, answer, plan, knowledge, subproblems</code>. They run in the worker with a time limit; the reward is the weighted sum of all functions.
        {(runState === 'running' || runState === 'paused') && ' Changes apply when you resume or start.'}
      </p>
      {rewards.map((r, i) => (
        <RewardItem key={i} reward={r} index={i} workerError={rewardErrors[r.name]} />
      ))}
      <button type="button" onClick={add}>
        + Add reward function
      </button>
    </section>
  );
}
