/** Lecture keys: space pauses or resumes, s takes one step. Ignored while the user types in a field. */
import type { RunState } from '../worker/protocol';

export interface ShortcutActions {
  getState(): RunState;
  pause(): void;
  resume(): void;
  step(): void;
}

function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof (target as HTMLElement).tagName !== 'string') return false;
  const el = target as HTMLElement;
  return el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT', 'BUTTON'].includes(el.tagName);
}

/** Returns true when the key was a shortcut (the caller then prevents the default scroll/typing). */
export function handleShortcut(e: Pick<KeyboardEvent, 'key' | 'target' | 'ctrlKey' | 'metaKey' | 'altKey'>, a: ShortcutActions): boolean {
  if (e.ctrlKey || e.metaKey || e.altKey || isTyping(e.target)) return false;
  const state = a.getState();
  if (e.key === ' ') {
    if (state === 'running') a.pause();
    else if (state === 'paused') a.resume();
    else return false;
    return true;
  }
  if (e.key === 's' || e.key === 'S') {
    if (state === 'paused') {
      a.step();
      return true;
    }
  }
  return false;
}
