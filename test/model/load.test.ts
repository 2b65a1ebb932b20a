import { beforeAll, describe, expect, it } from 'vitest';
import * as tf from '@tensorflow/tfjs-core';
import { initNodeBackend } from '../../src/cli/node-webgpu';
import { exportModel, loadModel, type FileFetcher } from '../../src/core/model/load';
import { parseSafetensors, serializeSafetensors } from '../../src/core/model/safetensors';
import { parseConfig } from '../../src/core/model/config';
import { cloneModel, randomInit } from '../../src/core/model/causal-lm';
import { Tokenizer } from '../../src/core/tokenizer';
import { tinyModelFiles, tinyTokenizerConfig, tinyTokenizerJson, writeTinyModel } from '../fixtures/tiny-model';
import { tinyConfig } from '../fixtures/tiny-configs';
import { MissingTensorError, ModelSourceError, SafetensorsError, TensorShapeError, TokenizerError, UnsupportedModelError } from '../../src/core/model/errors';
import type { Architecture } from '../../src/core/model/types';

beforeAll(async () => {
  await initNodeBackend('cpu');
});

const memFetcher = (files: Map<string, Uint8Array>): FileFetcher => async (n) => files.get(n) ?? null;

describe('safetensors', () => {
  it('round-trips F32 and decodes F16 / BF16 / I64 by hand-computed values', () => {
    const bytes = serializeSafetensors([['a', { shape: [2, 2], data: Float32Array.of(1, -2.5, 3e-3, 65504) }]]);
    const back = parseSafetensors(bytes);
    expect(Array.from(back.get('a')!.data)).toEqual(Array.from(Float32Array.of(1, -2.5, 3e-3, 65504)));
    expect(back.get('a')!.shape).toEqual([2, 2]);
    // Hand-built file: F16 [1.0, -2.0, 0.5], BF16 [1.0, -3.0], I64 [7].
    const header = JSON.stringify({ h: { dtype: 'F16', shape: [3], data_offsets: [0, 6] }, b: { dtype: 'BF16', shape: [2], data_offsets: [6, 10] }, i: { dtype: 'I64', shape: [1], data_offsets: [10, 18] } });
    const hb = new TextEncoder().encode(header);
    const buf = new Uint8Array(8 + hb.length + 18);
    const dv = new DataView(buf.buffer);
    dv.setBigUint64(0, BigInt(hb.length), true);
    buf.set(hb, 8);
    const o = 8 + hb.length;
    [0x3c00, 0xc000, 0x3800].forEach((h, i) => dv.setUint16(o + 2 * i, h, true));
    [0x3f80, 0xc040].forEach((h, i) => dv.setUint16(o + 6 + 2 * i, h, true));
    dv.setBigInt64(o + 10, 7n, true);
    const t = parseSafetensors(buf);
    expect(Array.from(t.get('h')!.data)).toEqual([1, -2, 0.5]);
    expect(Array.from(t.get('b')!.data)).toEqual([1, -3]);
    expect(Array.from(t.get('i')!.data)).toEqual([7]);
  });
  it('names the file and the problem for truncated or malformed files', () => {
    const good = serializeSafetensors([['w', { shape: [4], data: new Float32Array(4) }]]);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'shard-2.safetensors')).toThrow(SafetensorsError);
    expect(() => parseSafetensors(good.subarray(0, good.length - 4), 'shard-2.safetensors')).toThrow(/shard-2\.safetensors.*"w".*truncated/);
    expect(() => parseSafetensors(good.subarray(0, 5))).toThrow(/fewer than the 8-byte/);
    const bad = Uint8Array.from(good);
    bad[8] = 0x7b + 1;
    expect(() => parseSafetensors(bad)).toThrow(/JSON header does not parse/);
    expect(() => parseSafetensors(Uint8Array.of(255, 255, 0, 0, 0, 0, 0, 0, 1))).toThrow(/truncated download/);
  });
});

describe('config', () => {
  it('rejects an unknown model_type, naming it and the supported ones', () => {
    expect(() => parseConfig({ model_type: 'mamba' })).toThrow(UnsupportedModelError);
    expect(() => parseConfig({ model_type: 'mamba' })).toThrow(/"mamba".*llama.*qwen2.*qwen3.*gpt2/);
  });
  it('reads qwen3 head_dim, qwen2 biases and gpt2 names', () => {
    expect(parseConfig(tinyConfig('qwen3')).headDim).toBe(12);
    expect(parseConfig(tinyConfig('qwen2')).attentionBias).toBe(true);
    const g = parseConfig(tinyConfig('gpt2'));
    expect([g.hiddenSize, g.numLayers, g.numHeads, g.maxPositionEmbeddings, g.intermediateSize]).toEqual([16, 2, 4, 64, 64]);
  });
});

describe('tokenizer', () => {
  it('encodes, decodes, formats prompts and reports its special tokens', () => {
    const tok = new Tokenizer({ tokenizerJson: tinyTokenizerJson(), tokenizerConfig: tinyTokenizerConfig(true), generationConfig: { eos_token_id: [2, 3] } });
    const ids = tok.encode('ab 12');
    expect(ids).toEqual([1, 5, 6, 4, 32, 33]);
    expect(tok.decode(ids, { skipSpecialTokens: true })).toBe('ab 12');
    expect(tok.tokenPieces(ids)).toEqual(['<s>', 'a', 'b', ' ', '1', '2']);
    expect(tok.encode('ab', { addSpecialTokens: false })).toEqual([5, 6]);
    expect(tok.eosTokenIds).toEqual([2, 3]);
    expect([tok.padTokenId, tok.bosTokenId, tok.vocabSize, tok.hasChatTemplate]).toEqual([0, 1, 48, true]);
    expect(tok.formatPrompt('hi')).toBe('<user>hi<assistant>');
    const plain = new Tokenizer({ tokenizerJson: tinyTokenizerJson(), tokenizerConfig: tinyTokenizerConfig(false) });
    expect(plain.formatPrompt('hi')).toBe('hi');
  });
});

describe.each<Architecture>(['llama', 'qwen2', 'qwen3', 'gpt2'])('%s load and export', (arch) => {
  it('loads from a directory, exports, and reloads to the same logits', async () => {
    const before = tf.memory().numTensors;
    const dir = writeTinyModel(arch, { seed: 4 });
    const fractions: number[] = [];
    const a = await loadModel({ kind: 'dir', path: dir }, { onProgress: (p) => fractions.push(p.fraction) });
    expect(fractions.at(-1)).toBe(1);
    expect(a.model.numParams).toBeGreaterThan(1000);
    const out = await exportModel(a.model, a.files);
    expect([...out.keys()].sort()).toEqual(['config.json', 'generation_config.json', 'model.safetensors', 'tokenizer.json', 'tokenizer_config.json']);
    const names = [...parseSafetensors(out.get('model.safetensors')!).keys()];
    expect(names.includes('lm_head.weight')).toBe(!a.model.config.tieWordEmbeddings);
    const b = await loadModel({ kind: 'files', files: [...out].map(([name, data]) => ({ name: `exported/${name}`, data })) });
    const input = { ids: Int32Array.of(1, 5, 9, 7), batch: 1, length: 4, positions: Int32Array.of(0, 1, 2, 3), attentionMask: Int32Array.of(1, 1, 1, 1) };
    const la = a.model.forward(input).logits;
    const lb = b.model.forward(input).logits;
    expect(Array.from(lb.dataSync())).toEqual(Array.from(la.dataSync()));
    tf.dispose([la, lb]);
    a.model.dispose();
    b.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});

describe('load errors', () => {
  it('missing tensor, wrong shape, tokenizer bigger than the vocabulary', async () => {
    const files = tinyModelFiles('llama');
    const tensors = parseSafetensors(files.get('model.safetensors')!);
    const missing = new Map(tensors);
    missing.delete('model.layers.1.mlp.up_proj.weight');
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(new Map([...files, ['model.safetensors', serializeSafetensors(missing)]])) })).rejects.toThrow(MissingTensorError);
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(new Map([...files, ['model.safetensors', serializeSafetensors(missing)]])) })).rejects.toThrow(/"model\.layers\.1\.mlp\.up_proj\.weight".*\[24, 16\]/);
    const wrong = new Map(tensors);
    wrong.set('model.norm.weight', { dtype: 'F32', shape: [17], data: new Float32Array(17) });
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(new Map([...files, ['model.safetensors', serializeSafetensors(wrong)]])) })).rejects.toThrow(TensorShapeError);
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(new Map([...files, ['model.safetensors', serializeSafetensors(wrong)]])) })).rejects.toThrow(/"model\.norm\.weight" has shape \[17\].*\[16\]/);
    const bigTok = tinyModelFiles('llama', { tokenizerVocab: 60 });
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(bigTok) })).rejects.toThrow(TokenizerError);
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(bigTok) })).rejects.toThrow(/60 tokens.*vocab_size is 48/);
    const unknown = new Map(files);
    unknown.set('config.json', new TextEncoder().encode(JSON.stringify({ ...tinyConfig('llama'), model_type: 'falcon' })));
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(unknown) })).rejects.toThrow(/"falcon" is not supported/);
    const truncated = new Map(files);
    truncated.set('model.safetensors', files.get('model.safetensors')!.subarray(0, 3000));
    await expect(loadModel({ kind: 'fetcher', label: 'm', fetch: memFetcher(truncated) })).rejects.toThrow(SafetensorsError);
  });

  it('loads sharded checkpoints through model.safetensors.index.json', async () => {
    const files = tinyModelFiles('qwen2');
    const tensors = [...parseSafetensors(files.get('model.safetensors')!)];
    const half = Math.floor(tensors.length / 2);
    const sharded = new Map(files);
    sharded.delete('model.safetensors');
    sharded.set('model-00001-of-00002.safetensors', serializeSafetensors(tensors.slice(0, half)));
    sharded.set('model-00002-of-00002.safetensors', serializeSafetensors(tensors.slice(half)));
    const weight_map = Object.fromEntries(tensors.map(([n], i) => [n, i < half ? 'model-00001-of-00002.safetensors' : 'model-00002-of-00002.safetensors']));
    sharded.set('model.safetensors.index.json', new TextEncoder().encode(JSON.stringify({ metadata: {}, weight_map })));
    const m = await loadModel({ kind: 'fetcher', label: 'sharded', fetch: memFetcher(sharded) });
    expect(m.model.numParams).toBe(tensors.reduce((a, [, t]) => a + t.data.length, 0));
    m.model.dispose();
  });

  it('a nonexistent Hub repo gives a typed error (stubbed fetch), and an existing one loads', async () => {
    const { env } = await import('@huggingface/transformers');
    const saved = env.fetch;
    const files = tinyModelFiles('gpt2');
    const urls: string[] = [];
    env.fetch = (async (url: string) => {
      urls.push(url);
      const m = /^https:\/\/huggingface\.co\/tiny\/gpt2\/resolve\/main\/(.+)$/.exec(url);
      const body = m ? files.get(m[1]!) : undefined;
      return body ? new Response(body as BodyInit) : new Response('Repository not found', { status: m ? 404 : 401 });
    }) as typeof env.fetch;
    try {
      await expect(loadModel({ kind: 'hub', repo: 'nobody/does-not-exist' })).rejects.toThrow(ModelSourceError);
      await expect(loadModel({ kind: 'hub', repo: 'nobody/does-not-exist' })).rejects.toThrow(/"nobody\/does-not-exist" does not exist/);
      const m = await loadModel({ kind: 'hub', repo: 'tiny/gpt2' });
      expect(m.model.config.arch).toBe('gpt2');
      expect(urls).toContain('https://huggingface.co/tiny/gpt2/resolve/main/model.safetensors');
      m.model.dispose();
    } finally {
      env.fetch = saved;
    }
  });
});

describe('cloneModel and randomInit', () => {
  it('a clone is frozen and keeps its weights when the original changes', () => {
    const before = tf.memory().numTensors;
    const model = randomInit(parseConfig(tinyConfig('llama')), 3);
    const ref = cloneModel(model);
    expect(ref.trainableVariables()).toEqual([]);
    expect(model.trainableVariables().length).toBe(model.weights.size);
    const v = model.weights.get('model.norm.weight')!;
    tf.tidy(() => v.assign(tf.zerosLike(v)));
    expect(Array.from(ref.weights.get('model.norm.weight')!.dataSync())).toEqual(new Array(16).fill(1));
    const std = tf.tidy(() => tf.sqrt(tf.moments(model.weights.get('model.embed_tokens.weight')!).variance).dataSync()[0]!);
    expect(std).toBeGreaterThan(0.25);
    expect(std).toBeLessThan(0.35);
    model.dispose();
    ref.dispose();
    expect(tf.memory().numTensors).toBe(before);
  });
});
