/** The run's current phase in words ("probing base 3/24", "rollout 2/8"), for the controls and the projector view. */
import type { RunState } from '../worker/protocol';
import type { ProgressReport } from './store';

export function activityText(runState: RunState, activity: ProgressReport | null, starting: boolean): string | null {
  if (activity && (runState === 'running' || runState === 'paused' || runState === 'stopping')) {
    const n = `${activity.done}/${activity.total}`;
    switch (activity.phase) {
      case 'probe':
        return activity.message === 'base' ? `probing base ${n}` : `probing ${n}`;
      case 'rollout':
        return `rollout ${n}`;
      case 'update':
        return `update ${n}`;
      case 'save':
        return 'saving';
      case 'load':
        return `loading ${n}`;
    }
  }
  if (runState === 'stopping') return 'stopping…';
  if (starting || (runState === 'running' && !activity)) return 'starting…';
  return null;
}
