/** Where the model and the problems come from: embedded, a Hub repo, or files from disk; a task or a JSONL file. */
import { useState, type DragEvent } from 'react';
import type { BackendName, ModelSourceSpec } from '../../worker/protocol';
import { useAppStore } from '../store-context';

type FileEntry = { name: string; data: ArrayBuffer };

/** Reads a dropped folder (or loose files) into name → bytes; names are relative to the dropped folder. */
async function readDropped(dt: DataTransfer): Promise<FileEntry[]> {
  const out: FileEntry[] = [];
  const entries = Array.from(dt.items)
    .map((it) => (typeof it.webkitGetAsEntry === 'function' ? it.webkitGetAsEntry() : null))
    .filter((e): e is FileSystemEntry => e !== null);
  const readFile = (e: FileSystemFileEntry) => new Promise<File>((res, rej) => e.file(res, rej));
  const readDir = (d: FileSystemDirectoryEntry) =>
    new Promise<FileSystemEntry[]>((res, rej) => {
      const reader = d.createReader();
      const all: FileSystemEntry[] = [];
      const more = () => reader.readEntries((batch) => (batch.length ? (all.push(...batch), more()) : res(all)), rej);
      more();
    });
  const walk = async (e: FileSystemEntry, prefix: string): Promise<void> => {
    if (e.isFile) {
      const f = await readFile(e as FileSystemFileEntry);
      out.push({ name: prefix + f.name, data: await f.arrayBuffer() });
    } else if (e.isDirectory) {
      for (const child of await readDir(e as FileSystemDirectoryEntry)) await walk(child, prefix ? `${prefix}${e.name}/` : '');
    }
  };
  if (entries.length) {
    for (const e of entries) await walk(e, '');
  } else {
    for (const f of Array.from(dt.files)) out.push({ name: f.name, data: await f.arrayBuffer() });
  }
  return out;
}

async function readPicked(list: FileList): Promise<FileEntry[]> {
  return Promise.all(
    Array.from(list).map(async (f) => {
      // webkitRelativePath is "folder/sub/file"; drop the picked folder's own name.
      const rel = f.webkitRelativePath ? f.webkitRelativePath.split('/').slice(1).join('/') : f.name;
      return { name: rel || f.name, data: await f.arrayBuffer() };
    }),
  );
}

export function ModelPanel() {
  const load = useAppStore((s) => s.load);
  const model = useAppStore((s) => s.model);
  const backend = useAppStore((s) => s.backend);
  const runState = useAppStore((s) => s.runState);
  const progress = useAppStore((s) => s.loadProgress);
  const task = useAppStore((s) => s.task);
  const setTask = useAppStore((s) => s.setTask);
  const setModelFolder = useAppStore((s) => s.setModelFolder);
  const [repo, setRepo] = useState('HuggingFaceTB/SmolLM2-135M-Instruct');
  const [backendChoice, setBackendChoice] = useState<BackendName | 'auto'>('auto');
  const [dragOver, setDragOver] = useState(false);
  const [fileNote, setFileNote] = useState<string | null>(null);
  const busy = runState === 'loading' || runState === 'running';
  const go = (source: ModelSourceSpec) => load(source, backendChoice === 'auto' ? undefined : backendChoice);
  const loadFiles = (files: FileEntry[], folder: string | null) => {
    if (!files.some((f) => f.name.endsWith('config.json'))) {
      setFileNote('That folder has no config.json: drop a Hugging Face model folder (config.json, model.safetensors, tokenizer.json).');
      return;
    }
    setFileNote(`${files.length} files: ${files.map((f) => f.name).join(', ')}`);
    // The TRL export names the model by its folder; the browser never tells the page the full path.
    setModelFolder(folder);
    go({ kind: 'files', files });
  };
  const onDrop = async (e: DragEvent) => {
    e.preventDefault();
    setDragOver(false);
    const first = Array.from(e.dataTransfer.items)
      .map((it) => (typeof it.webkitGetAsEntry === 'function' ? it.webkitGetAsEntry() : null))
      .find((x) => x?.isDirectory);
    loadFiles(await readDropped(e.dataTransfer), first?.name ?? null);
  };

  return (
    <section className="model-panel">
      <h3>Model</h3>
      <p>
        {model ? (
          <>
            Loaded <strong>{model.name}</strong> ({model.arch}, {model.params.toLocaleString('en')} parameters, vocabulary {model.vocabSize.toLocaleString('en')}) on <strong>{backend?.name}</strong>.
          </>
        ) : (
          'No model loaded yet.'
        )}
      </p>
      <label>
        Backend{' '}
        <select value={backendChoice} onChange={(e) => setBackendChoice(e.target.value as BackendName | 'auto')}>
          <option value="auto">auto (the faster, measured at load)</option>
          <option value="webgpu">webgpu</option>
          <option value="wasm">wasm (CPU)</option>
          <option value="cpu">cpu (slow, reference)</option>
        </select>
      </label>
      <div className="model-sources">
        <div className="source">
          <h4>Embedded</h4>
          <p>The tiny model trained on the toy world, shipped with the page.</p>
          <button type="button" disabled={busy} onClick={() => go({ kind: 'embedded' })}>
            Load embedded model
          </button>
        </div>
        <div className="source">
          <h4>Hugging Face Hub</h4>
          <p>A small Llama/Qwen/GPT-2 model with safetensors weights (downloads into this tab).</p>
          <input value={repo} onChange={(e) => setRepo(e.target.value)} aria-label="Hub repo id" placeholder="owner/name" />
          <button type="button" disabled={busy || !/^[\w.-]+\/[\w.-]+$/.test(repo.trim())} onClick={() => go({ kind: 'hub', repo: repo.trim() })}>
            Download and load
          </button>
        </div>
        <div
          className={`source dropzone ${dragOver ? 'over' : ''}`}
          onDragOver={(e) => {
            e.preventDefault();
            setDragOver(true);
          }}
          onDragLeave={() => setDragOver(false)}
          onDrop={onDrop}
          data-testid="dropzone"
        >
          <h4>From disk</h4>
          <p>Drop a Hub-layout folder here, or pick it:</p>
          <input
            type="file"
            multiple
            aria-label="model folder"
            {...({ webkitdirectory: '' } as Record<string, string>)}
            disabled={busy}
            onChange={async (e) => {
              const list = e.target.files;
              if (list && list.length > 0) loadFiles(await readPicked(list), list[0]!.webkitRelativePath.split('/')[0] || null);
            }}
          />
          {fileNote && <small>{fileNote}</small>}
        </div>
      </div>
      {progress && (
        <div className="load-progress">
          <progress max={progress.total || 1} value={progress.done} /> {progress.message ?? `${progress.done}/${progress.total}`}
        </div>
      )}

      <h3>Task</h3>
      <div className="task-choice">
        <label>
          <input type="radio" name="task" checked={task.kind === 'toy-world'} onChange={() => setTask({ kind: 'toy-world' })} /> Toy world (arithmetic with a fictional knowledge base)
        </label>
        {task.kind === 'toy-world' && (
          <label className="sub">
            difficulty{' '}
            <select value={task.difficulty ?? ''} onChange={(e) => setTask({ kind: 'toy-world', difficulty: e.target.value ? Number(e.target.value) : undefined })}>
              <option value="">mixed</option>
              {[1, 2, 3, 4].map((d) => (
                <option key={d} value={d}>
                  {d}
                </option>
              ))}
            </select>
          </label>
        )}
        <label>
          <input type="radio" name="task" checked={task.kind === 'countdown'} onChange={() => setTask({ kind: 'countdown' })} /> Countdown (reach a target with + − × ÷)
        </label>
        <label>
          <input type="radio" name="task" checked={task.kind === 'jsonl'} readOnly onClick={() => undefined} disabled={task.kind !== 'jsonl'} /> JSONL file{task.kind === 'jsonl' ? `: ${task.name}` : ''}{' '}
          <input
            type="file"
            accept=".jsonl,.json,.txt"
            aria-label="JSONL problems"
            onChange={async (e) => {
              const f = e.target.files?.[0];
              if (f) setTask({ kind: 'jsonl', name: f.name, text: await f.text() });
            }}
          />
        </label>
        <small className="help">JSONL: one problem per line with at least "question" (or "prompt") and "answer"; optional plan, knowledge, subproblems.</small>
      </div>
    </section>
  );
}
