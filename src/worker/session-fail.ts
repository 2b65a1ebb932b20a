/** A failed command or step as the page sees it: a typed error event and the state the session falls back to. */
import type { RunState } from './protocol';
import { ConfigError } from '../core/grpo/config';
import { NonFiniteError } from '../core/grpo/optimizer';
import { RewardError } from '../core/rewards/runner';
import { isBackendAbort } from '../core/backend-recover';
import { StopRequested } from './session-helpers';
import { outOfMemory } from './session-model';
import type { SessionContext } from './session-context';

export function fail(ctx: SessionContext, e: unknown, next: RunState): void {
  if (e instanceof RewardError) {
    ctx.emit({ type: 'error', code: 'reward', message: e.message, reward: { name: e.rewardName, ...(e.line !== undefined ? { line: e.line } : {}), ...(e.column !== undefined ? { column: e.column } : {}) } });
  } else if (e instanceof ConfigError) {
    ctx.emit({ type: 'error', code: 'config', message: e.message });
  } else if (e instanceof NonFiniteError) {
    ctx.emit({ type: 'error', code: 'non-finite', message: e.message });
  } else if (isBackendAbort(e)) {
    ctx.broken = true;
    const message = outOfMemory(ctx);
    ctx.emit({ type: 'error', code: 'out-of-memory', message });
    // Start again works: the backend and the model are made anew first.
    ctx.setState(ctx.loaded ? 'ready' : 'error', message, 'failed');
    return;
  } else if (e instanceof StopRequested) {
    ctx.setState(ctx.loaded ? 'ready' : 'idle', 'stopped by the user', 'stopped');
    return;
  } else {
    const err = e instanceof Error ? e : new Error(String(e));
    ctx.emit({ type: 'error', code: 'internal', message: err.name && err.name !== 'Error' ? `${err.name}: ${err.message}` : err.message });
  }
  ctx.setState(next, e instanceof Error ? e.message : String(e), next === 'error' ? 'failed' : undefined);
}
