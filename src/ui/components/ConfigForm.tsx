/** The GRPO knobs under TRL's names, with presets; every field explains itself in one line. */
import { useState } from 'react';
import { CONFIG_FIELDS, ConfigValueError, formatFieldValue, parseFieldValue, PRESETS, type ConfigField } from '../config-schema';
import { useAppStore } from '../store-context';
import { memoryText, microBatchText } from '../memory-plan';

/** What the run actually uses: the worker fits micro_batch_size to the backend's memory when it is 0. */
function MemoryPlanLine() {
  const plan = useAppStore((s) => s.memoryPlan);
  const value = useAppStore((s) => s.config.micro_batch_size ?? 0);
  const over = plan !== null && plan.limitBytes > 0 && plan.estimatedBytes > plan.limitBytes;
  return (
    <div className={`memory-plan ${over ? 'neg' : ''}`}>
      <span>
        run uses <strong data-testid="micro-batch-size">{microBatchText(plan, value)}</strong>
      </span>
      {plan && <span data-testid="memory-estimate"> · {memoryText(plan)}</span>}
    </div>
  );
}

function FieldInput({ field }: { field: ConfigField }) {
  const value = useAppStore((s) => s.config[field.name] ?? field.defaultValue);
  const setValue = useAppStore((s) => s.setConfigValue);
  const [draft, setDraft] = useState<string | null>(null);
  const [error, setError] = useState<string | null>(null);
  const id = `cfg-${field.name}`;
  const k = field.kind;

  const commit = (raw: string) => {
    try {
      setValue(field.name, parseFieldValue(field.name, raw));
      setError(null);
      setDraft(null);
    } catch (e) {
      if (e instanceof ConfigValueError) setError(e.message);
      else throw e;
    }
  };

  let input;
  if (k.type === 'bool') {
    input = <input id={id} type="checkbox" checked={value === true} onChange={(e) => setValue(field.name, e.target.checked)} />;
  } else if (k.type === 'choice') {
    input = (
      <select id={id} value={String(value)} onChange={(e) => setValue(field.name, e.target.value)}>
        {k.options.map((o) => (
          <option key={o}>{o}</option>
        ))}
      </select>
    );
  } else {
    input = (
      <input
        id={id}
        type="text"
        inputMode="decimal"
        value={draft ?? formatFieldValue(value)}
        placeholder={k.type === 'optionalFloat' ? 'same as epsilon' : undefined}
        aria-invalid={error !== null}
        onChange={(e) => setDraft(e.target.value)}
        onBlur={(e) => commit(e.target.value)}
        onKeyDown={(e) => {
          if (e.key === 'Enter') commit((e.target as HTMLInputElement).value);
        }}
      />
    );
  }
  return (
    <div className={`field ${error ? 'invalid' : ''}`}>
      <label htmlFor={id}>
        <code>{field.name}</code>
        {field.tabzeroOnly && <span className="tag" title="TabZero extension, not a TRL GRPOConfig key">TZ</span>}
      </label>
      {input}
      <small className="help">{error ?? field.help}</small>
      {field.name === 'micro_batch_size' && <MemoryPlanLine />}
    </div>
  );
}

export function ConfigForm() {
  const preset = useAppStore((s) => s.preset);
  const choosePreset = useAppStore((s) => s.choosePreset);
  const probeEvery = useAppStore((s) => s.probeEvery);
  const setProbeEvery = useAppStore((s) => s.setProbeEvery);
  const probeMode = useAppStore((s) => s.probeMode);
  const setProbeMode = useAppStore((s) => s.setProbeMode);
  return (
    <section className="config" aria-label="GRPO settings">
      <div className="presets" role="group" aria-label="Presets">
        {PRESETS.map((p) => (
          <button key={p.id} type="button" className={preset === p.id ? 'active' : ''} onClick={() => choosePreset(p.id)} title={p.help}>
            {p.label}
          </button>
        ))}
      </div>
      <div className="field">
        <label htmlFor="cfg-probe-every">
          <code>probe_every</code>
          <span className="tag">TZ</span>
        </label>
        <input id="cfg-probe-every" type="number" min={0} value={probeEvery} onChange={(e) => setProbeEvery(Math.max(0, Math.floor(Number(e.target.value) || 0)))} />
        <small className="help">Evaluate the probe set every this many steps (0: only on request).</small>
      </div>
      <div className="field">
        <label htmlFor="cfg-probe-mode">
          <code>probe_mode</code>
          <span className="tag">TZ</span>
        </label>
        <select id="cfg-probe-mode" value={probeMode} onChange={(e) => setProbeMode(e.target.value === 'avg@k' ? 'avg@k' : 'greedy')}>
          <option value="greedy">greedy</option>
          <option value="avg@k">Avg@8, T = 0.6</option>
        </select>
        <small className="help">How the probes measure: greedy (one completion per prompt) or the paper's Avg@8, 8× slower, which samples 8 completions per prompt at temperature 0.6, as SPARKLE reports; its intervals count problems, not samples. Applies from the next Start.</small>
      </div>
      {CONFIG_FIELDS.map((f) => (
        <FieldInput key={f.name} field={f} />
      ))}
    </section>
  );
}
