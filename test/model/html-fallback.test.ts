/**
 * A server that answers every missing path with an HTML page and 200 (Vite's dev server does)
 * must not give the model files it does not have: the model loads, its export carries only its
 * real files, and a training session on it trains with prompts that contain no HTML.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { exportModel, loadModel } from '../../src/core/model/load';
import { contentProblem, isHtmlDocument } from '../../src/core/model/file-checks';
import { ModelSourceError } from '../../src/core/model/errors';
import { TrainingSession } from '../../src/worker/session';
import type { WorkerEvent } from '../../src/worker/protocol';
import { tinyModelFiles } from '../fixtures/tiny-model';
import { INDEX_HTML, startSpaServer, type SpaServer } from '../helpers/spa-server';

const files = tinyModelFiles('llama');
const realNames = [...files.keys()].sort();
const html = new TextEncoder().encode(INDEX_HTML);
let honest: SpaServer;
let lying: SpaServer;

beforeAll(async () => {
  await initNodeBackend('cpu');
  honest = await startSpaServer(files);
  // Same fallback, but claiming to be a binary file: only the content gives it away.
  lying = await startSpaServer(files, { contentType: 'application/octet-stream' });
});
afterAll(async () => {
  await honest.close();
  await lying.close();
});

describe('content checks', () => {
  it('recognise an HTML page, JSON that does not parse and a bad safetensors header', () => {
    expect(isHtmlDocument(html)).toBe(true);
    expect(isHtmlDocument(new TextEncoder().encode('  <!-- c -->\n<HTML>'))).toBe(true);
    expect(isHtmlDocument(new TextEncoder().encode("{% for m in messages %}<{{ m['role'] }}>"))).toBe(false);
    expect(contentProblem('chat_template.jinja', html)).toMatch(/HTML page/);
    expect(contentProblem('chat_template.jinja', new TextEncoder().encode('{{ bos_token }}<html-ish>'))).toBeNull();
    expect(contentProblem('config.json', new TextEncoder().encode('{"a":'))).toMatch(/does not parse as JSON/);
    expect(contentProblem('config.json', files.get('config.json')!)).toBeNull();
    expect(contentProblem('model.safetensors', files.get('model.safetensors')!)).toBeNull();
    expect(contentProblem('model.safetensors', new TextEncoder().encode('PK\u0003\u0004 not safetensors at all'))).toMatch(/header length/);
  });
});

describe.each([
  ['text/html', () => honest],
  ['application/octet-stream', () => lying],
])('a model served with an HTML fallback (%s)', (_type, server) => {
  it('loads without the files it does not have and exports only its real files', async () => {
    const m = await loadModel({ kind: 'url', baseUrl: server().baseUrl });
    try {
      expect(m.tokenizer.hasChatTemplate).toBe(false);
      expect([...m.files.keys()].sort()).toEqual(realNames.filter((n) => n !== 'model.safetensors'));
      // The loader did ask for the optional files; the fallback's answers were not taken for them.
      expect(server().requests.some((p) => p.endsWith('/chat_template.jinja'))).toBe(true);
      const exported = await exportModel(m.model, m.files);
      expect([...exported.keys()].sort()).toEqual(realNames);
      for (const [name, bytes] of exported) expect(isHtmlDocument(bytes), name).toBe(false);
    } finally {
      m.model.dispose();
    }
  });
});

describe('required files', () => {
  it('a missing config.json is reported as missing, saying what was served instead', async () => {
    const noConfig = new Map(files);
    noConfig.delete('config.json');
    const s = await startSpaServer(noConfig, { contentType: 'text/plain' });
    try {
      await expect(loadModel({ kind: 'url', baseUrl: s.baseUrl })).rejects.toThrow(ModelSourceError);
      await expect(loadModel({ kind: 'url', baseUrl: s.baseUrl })).rejects.toThrow(/no usable config\.json \(the server answered with an HTML page instead\)/);
    } finally {
      await s.close();
    }
  });
});

describe('a training session on a model behind an HTML fallback', () => {
  it('trains a step on prompts that contain no HTML', async () => {
    const events: WorkerEvent[] = [];
    const session = new TrainingSession((e) => events.push(e), { initBackend: () => initNodeBackend('cpu'), embedded: { kind: 'url', baseUrl: honest.baseUrl } }, { probeCount: 2 });
    try {
      await session.handle({ type: 'load', source: { kind: 'embedded' } });
      expect(events.find((e) => e.type === 'error')).toBeUndefined();
      await session.handle({ type: 'start', config: { num_generations: 2, prompts_per_step: 2, max_completion_length: 4, max_steps: 1 }, task: { kind: 'toy-world', difficulty: 1 } });
      for (let i = 0; i < 600 && !events.some((e) => e.type === 'metrics'); i++) await new Promise((r) => setTimeout(r, 50));
      const rollouts = events.find((e) => e.type === 'rollouts');
      expect(rollouts).toBeDefined();
      for (const g of (rollouts as Extract<WorkerEvent, { type: 'rollouts' }>).groups) {
        expect(g.prompt).not.toMatch(/<html|<!doctype/i);
        expect(g.prompt).toMatch(/<think>$/);
      }
      expect(events.filter((e) => e.type === 'error')).toEqual([]);
    } finally {
      await session.dispose();
    }
  });
});
