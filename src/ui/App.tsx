/** The page: run controls and settings on the left, charts / rollouts / rewards / model / export on the right. */
import { useEffect, useState } from 'react';
import { ConfigForm } from './components/ConfigForm';
import { Controls } from './components/Controls';
import { Dashboard } from './components/Dashboard';
import { ExperimentsView } from './components/ExperimentsView';
import { ExportPanel } from './components/ExportPanel';
import { LogPanel } from './components/LogPanel';
import { ModelPanel } from './components/ModelPanel';
import { ProbePanel } from './components/ProbePanel';
import { RewardEditor } from './components/RewardEditor';
import { RolloutViewer } from './components/RolloutViewer';
import { ErrorList, LoadBanner, ResumeBanner, RewardErrorNotice, WebGpuBanner } from './components/Banners';
import { BackendBadge } from './components/BackendBadge';
import { LectureView } from './components/LectureView';
import { handleShortcut } from './shortcuts';
import { useAppStore, useStoreApi } from './store-context';

export const TABS = [
  ['train', 'Training'],
  ['rollouts', 'Rollouts'],
  ['reward', 'Reward'],
  ['model', 'Model & data'],
  ['export', 'Keep & export'],
  ['experiments', 'Experiments'],
  ['log', 'Log'],
] as const;
export type TabId = (typeof TABS)[number][0];

type Theme = 'dark' | 'light';

function readPref<T extends string>(key: string, fallback: T): T {
  try {
    return (localStorage.getItem(key) as T | null) ?? fallback;
  } catch {
    return fallback;
  }
}

function writePref(key: string, value: string) {
  try {
    localStorage.setItem(key, value);
  } catch {
    // Preferences are a nicety; private mode may refuse them.
  }
}

/** A URL-sourced model is named by its folder, not its whole address. */
export function shortModelName(name: string): string {
  const m = /^https?:\/\/[^]*?([^/]+)\/?$/.exec(name);
  return m ? m[1]! : name;
}

export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${(n / 1e6).toFixed(n >= 1e7 ? 0 : 1)}M`;
  if (n >= 1e3) return `${(n / 1e3).toFixed(1)}k`;
  return String(n);
}

function ModelBadges() {
  const model = useAppStore((s) => s.model);
  const timing = useAppStore((s) => s.timing);
  return (
    <>
      {model && (
        <span className="badge" title={`${model.name}: ${model.arch}, vocabulary ${model.vocabSize}`}>
          {shortModelName(model.name)} · {formatParams(model.params)} params
        </span>
      )}
      {timing.firstStepAt !== null && (
        <span className="badge" data-testid="first-step-time" title="From opening the page to the first GRPO step's metrics">
          first step after {(timing.firstStepAt / 1000).toFixed(1)} s
        </span>
      )}
    </>
  );
}

export function App() {
  const api = useStoreApi();
  const [tab, setTab] = useState<TabId>('train');
  const [theme, setTheme] = useState<Theme>(() => readPref<Theme>('tabzero-theme', typeof matchMedia !== 'undefined' && matchMedia('(prefers-color-scheme: light)').matches ? 'light' : 'dark'));
  const [large, setLarge] = useState(() => readPref<string>('tabzero-large', 'off') === 'on');
  const lecture = useAppStore((s) => s.lecture);
  const setLecture = useAppStore((s) => s.setLecture);

  useEffect(() => {
    document.documentElement.dataset.theme = theme;
    document.documentElement.dataset.large = large ? 'on' : 'off';
    document.documentElement.dataset.lecture = lecture ? 'on' : 'off';
    writePref('tabzero-theme', theme);
    writePref('tabzero-large', large ? 'on' : 'off');
    // A lecturer who reloads the page stays in the projector view.
    writePref('tabzero-lecture', lecture ? 'on' : 'off');
  }, [theme, large, lecture]);

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const s = api.getState();
      if (handleShortcut(e, { getState: () => api.getState().runState, pause: s.pause, resume: s.resume, step: s.step })) e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [api]);

  const styleKey = `${theme}-${large}-${lecture}`;
  return (
    <div className={`app ${lecture ? 'lecture' : ''}`}>
      <header className="topbar">
        <h1>
          TabZero {!lecture && <small>GRPO in a browser tab</small>}
        </h1>
        {lecture && <Controls compact />}
        <div className="badges">
          <BackendBadge short={lecture} />
          {!lecture && <ModelBadges />}
        </div>
        <div className="view-toggles">
          <button
            type="button"
            className={`small ${lecture ? 'active' : ''}`}
            data-testid="lecture-toggle"
            onClick={() => setLecture(!lecture)}
            aria-pressed={lecture}
            title="Projector view: large charts and the base-vs-now table, no sidebar, high-contrast dark theme"
          >
            {lecture ? '✕ Projector view' : 'Projector view'}
          </button>
          {!lecture && (
            <>
              <button type="button" className="small" onClick={() => setLarge(!large)} aria-pressed={large} title="Large type for lectures">
                A{large ? '−' : '+'}
              </button>
              <button type="button" className="small" onClick={() => setTheme(theme === 'dark' ? 'light' : 'dark')} title="Switch theme">
                {theme === 'dark' ? '☀ Light' : '☾ Dark'}
              </button>
            </>
          )}
        </div>
      </header>
      <WebGpuBanner />
      <LoadBanner />
      <ResumeBanner />
      <ErrorList />
      <RewardErrorNotice
        onOpen={() => {
          setLecture(false);
          setTab('reward');
        }}
      />
      {lecture ? (
        <LectureView styleKey={styleKey} />
      ) : (
        <div className="layout">
          <aside className="sidebar">
            <Controls />
            <details className="config-details" open>
              <summary>GRPO settings (TRL names)</summary>
              <ConfigForm />
            </details>
            <p className="shortcuts">
              <kbd>space</kbd> pause / resume · <kbd>s</kbd> one step
            </p>
          </aside>
          <main className="main">
            <nav className="tabs" role="tablist">
              {TABS.map(([id, label]) => (
                <button key={id} type="button" role="tab" aria-selected={tab === id} className={tab === id ? 'active' : ''} onClick={() => setTab(id)}>
                  {label}
                </button>
              ))}
            </nav>
            <div className="tab-body" role="tabpanel">
              {tab === 'train' && (
                <>
                  <Dashboard styleKey={styleKey} />
                  <h2 className="section-title">Probes: does the policy use a plan, use knowledge, decompose?</h2>
                  <ProbePanel styleKey={styleKey} />
                </>
              )}
              {tab === 'rollouts' && <RolloutViewer />}
              {tab === 'reward' && <RewardEditor />}
              {tab === 'model' && <ModelPanel />}
              {tab === 'export' && <ExportPanel />}
              {tab === 'experiments' && <ExperimentsView />}
              {tab === 'log' && <LogPanel />}
            </div>
          </main>
        </div>
      )}
    </div>
  );
}
