/**
 * Loading a Hub-layout model (config.json, model.safetensors or shards, tokenizer files) from any
 * source. Every source reduces to a file fetcher: name → bytes, or null when the file is absent.
 */
import { parseConfig } from './config';
import { CausalLM, type HostTensor } from './causal-lm';
import { parseSafetensors, parseSafetensorsIndex, serializeSafetensors } from './safetensors';
import { ModelSourceError, SafetensorsError } from './errors';
import { Tokenizer } from '../tokenizer';
import { contentProblem, isHtmlContentType } from './file-checks';

export type FileFetcher = (name: string) => Promise<Uint8Array | null>;

export type ModelSource =
  /** A local directory (Node only). */
  | { kind: 'dir'; path: string }
  /** A URL prefix under which the files are served (e.g. /models/tiny/ for the embedded model). */
  | { kind: 'url'; baseUrl: string }
  | { kind: 'hub'; repo: string; revision?: string }
  /** Files picked or dropped by the user. */
  | { kind: 'files'; files: { name: string; data: ArrayBuffer | Uint8Array }[] }
  | { kind: 'fetcher'; fetch: FileFetcher; label: string };

export interface LoadProgress {
  file: string;
  /** Bytes of this file received so far, when known. */
  loaded: number;
  /** 0..1 over the whole load. */
  fraction: number;
  stage: 'download' | 'build';
}

export interface LoadedModel {
  model: CausalLM;
  tokenizer: Tokenizer;
  generationConfig: Record<string, unknown> | null;
  /** Raw non-weight files (config.json, tokenizer files, generation_config.json) for export. */
  files: Map<string, Uint8Array>;
  /** Where it came from, in words. */
  label: string;
  /** Files the source answered for that were not what their name says (an HTML page for a JSON file...), treated as absent. */
  ignored: { name: string; why: string }[];
}

/** Files written back on export, as read. */
export const PASSTHROUGH_FILES = ['config.json', 'tokenizer.json', 'tokenizer_config.json', 'generation_config.json', 'special_tokens_map.json', 'chat_template.jinja'];

export function urlFetcher(baseUrl: string, fetchFn: typeof fetch = fetch): FileFetcher {
  const base = baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`;
  return async (name) => {
    let res: Response;
    try {
      res = await fetchFn(base + name);
    } catch (e) {
      throw new ModelSourceError(`Could not fetch ${base + name}: ${(e as Error).message}. Check the URL and your connection.`);
    }
    if (res.status === 404 || res.status === 410) return null;
    if (!res.ok) throw new ModelSourceError(`Fetching ${base + name} failed with HTTP ${res.status}.`);
    // An SPA fallback (Vite's dev server) answers a missing file with its index.html and 200.
    if (isHtmlContentType(res.headers.get('content-type'), name)) {
      await res.body?.cancel().catch(() => undefined);
      return null;
    }
    return new Uint8Array(await res.arrayBuffer());
  };
}

/**
 * Files of a Hugging Face Hub repo, through transformers.js' settings (remote host, path template,
 * fetch) and, in browsers, its Cache Storage bucket so a reload does not download again.
 */
export async function hubFetcher(repo: string, revision = 'main'): Promise<FileFetcher> {
  if (!/^[\w.-]+(\/[\w.-]+)?$/.test(repo)) {
    throw new ModelSourceError(`"${repo}" is not a Hub model id; expected "owner/name", e.g. "HuggingFaceTB/SmolLM2-135M".`);
  }
  const { env } = await import('@huggingface/transformers');
  const host = env.remoteHost.endsWith('/') ? env.remoteHost : `${env.remoteHost}/`;
  const base = host + env.remotePathTemplate.replaceAll('{model}', repo).replaceAll('{revision}', encodeURIComponent(revision));
  const fetchFn = (env.fetch ?? fetch) as (url: string) => Promise<Response>;
  const cache = env.useBrowserCache && typeof caches !== 'undefined' ? await caches.open(env.cacheKey ?? 'transformers-cache') : null;
  let checked = false;
  return async (name) => {
    const url = base + name;
    const hit = await cache?.match(url);
    if (hit) return new Uint8Array(await hit.arrayBuffer());
    let res: Response;
    try {
      res = await fetchFn(url);
    } catch (e) {
      throw new ModelSourceError(`Could not reach the Hugging Face Hub for ${repo} (${(e as Error).message}); check your connection.`);
    }
    if (!checked && name === 'config.json' && (res.status === 401 || res.status === 404)) {
      throw new ModelSourceError(`The Hub repo "${repo}" does not exist, is private or gated (HTTP ${res.status} for config.json). Check the spelling of the model id.`);
    }
    checked = true;
    if (res.status === 404 || res.status === 401 || res.status === 403) return null;
    if (!res.ok) throw new ModelSourceError(`Downloading ${name} from the Hub repo ${repo} failed with HTTP ${res.status}.`);
    const bytes = new Uint8Array(await res.arrayBuffer());
    await cache?.put(url, new Response(bytes)).catch(() => undefined);
    return bytes;
  };
}

export function filesFetcher(files: { name: string; data: ArrayBuffer | Uint8Array }[]): FileFetcher {
  const map = new Map<string, Uint8Array>();
  for (const f of files) {
    // A picked folder gives paths like "SmolLM2/config.json": match on the base name.
    const base = f.name.split(/[\\/]/).pop()!;
    map.set(base, f.data instanceof Uint8Array ? f.data : new Uint8Array(f.data));
  }
  return async (name) => map.get(name) ?? null;
}

async function fetcherFor(source: ModelSource): Promise<{ fetch: FileFetcher; label: string }> {
  switch (source.kind) {
    case 'dir': {
      const { dirFetcher } = await import('./load-node');
      return { fetch: dirFetcher(source.path), label: source.path };
    }
    case 'url':
      return { fetch: urlFetcher(source.baseUrl), label: source.baseUrl };
    case 'hub':
      return { fetch: await hubFetcher(source.repo, source.revision), label: source.repo };
    case 'files':
      return { fetch: filesFetcher(source.files), label: `${source.files.length} picked files` };
    case 'fetcher':
      return { fetch: source.fetch, label: source.label };
  }
}

function parseJson(bytes: Uint8Array, name: string, label: string): Record<string, unknown> {
  try {
    const v = JSON.parse(new TextDecoder().decode(bytes)) as unknown;
    if (typeof v !== 'object' || v === null || Array.isArray(v)) throw new Error('not a JSON object');
    return v as Record<string, unknown>;
  } catch (e) {
    throw new ModelSourceError(`${name} in ${label} is not valid JSON (${(e as Error).message}).`);
  }
}

export async function loadModel(
  source: ModelSource,
  opts: { onProgress?: (p: LoadProgress) => void; trainable?: boolean } = {},
): Promise<LoadedModel> {
  const { fetch: raw, label } = await fetcherFor(source);
  const ignored: { name: string; why: string }[] = [];
  // Bytes that cannot be the named file count as no file: a server's HTML fallback is not a chat template.
  const get: FileFetcher = async (name) => {
    const bytes = await raw(name);
    if (!bytes) return null;
    const why = contentProblem(name, bytes);
    if (why === null) return bytes;
    ignored.push({ name, why });
    return null;
  };
  const missing = (name: string): string => {
    const i = ignored.find((x) => x.name === name);
    return i ? `${label} has no usable ${name} (${i.why})` : `${label} has no ${name}`;
  };
  const progress = (file: string, fraction: number, loaded = 0, stage: LoadProgress['stage'] = 'download') =>
    opts.onProgress?.({ file, loaded, fraction, stage });
  const files = new Map<string, Uint8Array>();

  progress('config.json', 0);
  const configBytes = await get('config.json');
  if (!configBytes) throw new ModelSourceError(`${missing('config.json')}; a model folder in Hugging Face layout is needed (config.json, model.safetensors, tokenizer.json).`);
  files.set('config.json', configBytes);
  const config = parseConfig(parseJson(configBytes, 'config.json', label));

  for (const name of PASSTHROUGH_FILES.slice(1)) {
    const b = await get(name);
    if (b) files.set(name, b);
  }
  const tokJson = files.get('tokenizer.json');
  if (!tokJson) throw new ModelSourceError(`${missing('tokenizer.json')} (only fast tokenizers are supported).`);
  const generationConfig = files.has('generation_config.json') ? parseJson(files.get('generation_config.json')!, 'generation_config.json', label) : null;
  const tokenizerConfig = files.has('tokenizer_config.json') ? parseJson(files.get('tokenizer_config.json')!, 'tokenizer_config.json', label) : {};
  const chatTemplate = files.get('chat_template.jinja');
  if (chatTemplate && tokenizerConfig.chat_template === undefined) tokenizerConfig.chat_template = new TextDecoder().decode(chatTemplate);
  const tokenizer = new Tokenizer({ tokenizerJson: parseJson(tokJson, 'tokenizer.json', label), tokenizerConfig, generationConfig });
  tokenizer.checkModelVocab(config.vocabSize);
  progress('tokenizer.json', 0.05);

  const tensors = new Map<string, HostTensor>();
  const single = await get('model.safetensors');
  if (single) {
    progress('model.safetensors', 0.9, single.byteLength);
    for (const [k, v] of parseSafetensors(single, 'model.safetensors')) tensors.set(k, v);
  } else {
    const index = await get('model.safetensors.index.json');
    if (!index) {
      const bin = await get('pytorch_model.bin');
      throw new ModelSourceError(
        bin
          ? `${label} has only pytorch_model.bin; convert it to safetensors (transformers: model.save_pretrained(dir, safe_serialization=True)).`
          : `${missing('model.safetensors')} and no model.safetensors.index.json.`,
      );
    }
    const map = parseSafetensorsIndex(new TextDecoder().decode(index));
    const shards = [...new Set(map.values())];
    for (const [i, shard] of shards.entries()) {
      const bytes = await get(shard);
      if (!bytes) throw new SafetensorsError(`model.safetensors.index.json names shard ${shard}, but ${missing(shard)}.`);
      progress(shard, 0.05 + (0.85 * (i + 1)) / shards.length, bytes.byteLength);
      for (const [k, v] of parseSafetensors(bytes, shard)) tensors.set(k, v);
    }
  }
  progress('weights', 0.95, 0, 'build');
  const model = new CausalLM(config, tensors, { trainable: opts.trainable ?? true });
  progress('weights', 1, 0, 'build');
  return { model, tokenizer, generationConfig, files, label, ignored };
}

/**
 * Hub-layout files of a (trained) model: config.json, model.safetensors (F32, HF names; lm_head
 * left out when tied, as transformers saves it), tokenizer and generation files as loaded.
 */
export async function exportModel(model: CausalLM, files: Map<string, Uint8Array>): Promise<Map<string, Uint8Array>> {
  const out = new Map<string, Uint8Array>();
  const raw = { ...model.config.raw };
  // The weights are written as float32 whatever the original dtype was.
  if ('torch_dtype' in raw) raw.torch_dtype = 'float32';
  if ('dtype' in raw) raw.dtype = 'float32';
  out.set('config.json', new TextEncoder().encode(JSON.stringify(raw, null, 2) + '\n'));
  out.set('model.safetensors', serializeSafetensors(await model.exportTensors()));
  for (const name of PASSTHROUGH_FILES.slice(1)) {
    const b = files.get(name);
    if (b) out.set(name, b);
  }
  if (!out.has('generation_config.json')) {
    const c = model.config;
    const gen = { bos_token_id: c.bosTokenId, eos_token_id: c.eosTokenIds.length === 1 ? c.eosTokenIds[0] : c.eosTokenIds, pad_token_id: c.padTokenId };
    out.set('generation_config.json', new TextEncoder().encode(JSON.stringify(gen, null, 2) + '\n'));
  }
  return out;
}
