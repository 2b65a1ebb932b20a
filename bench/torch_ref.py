"""PyTorch CPU reference for bench/train-step.ts: the same Llama, the same GRPO step shape.

Loads a Hub-layout folder (config.json + model.safetensors) or builds a random model from a
config.json alone, then measures on the CPU, by default on one thread:
  update   log-probs of prompt+completion rows by teacher forcing, the dapo clipped loss
           (mu = 1, beta = 0), backward over micro-batches, global-norm clip and AdamW
  rollout  rows x new tokens sampled at temperature 1 through a KV cache
  matmul   a 512x512 product
and the bytes autograd saves for backward in one micro-batch (parameters left out). With
--check-logits FILE (JSON: ids, batch, length, logits from TabZero) it prints the largest
absolute difference of the logits on the same input first.

  python3 bench/torch_ref.py --model public/models/tabzero-tiny [--threads 1] [--check-logits f.json]

Prints one JSON object. Figures only; nothing is asserted.
"""
import argparse
import json
import math
import os
import resource
import struct
import sys
import time

import torch
import torch.nn.functional as F


def read_safetensors(path):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        body = f.read()
    out = {}
    for name, e in header.items():
        if name == '__metadata__':
            continue
        if e['dtype'] != 'F32':
            raise SystemExit(f'{name}: only F32 safetensors are read here (got {e["dtype"]})')
        a, b = e['data_offsets']
        out[name] = torch.frombuffer(bytearray(body[a:b]), dtype=torch.float32).reshape(e['shape'])
    return out


class Llama:
    def __init__(self, cfg, tensors):
        self.cfg = cfg
        self.H = cfg['hidden_size']
        self.heads = cfg['num_attention_heads']
        self.kv = cfg.get('num_key_value_heads', self.heads)
        self.D = cfg.get('head_dim') or self.H // self.heads
        self.eps = cfg.get('rms_norm_eps', 1e-6)
        self.L = cfg['num_hidden_layers']
        self.p = {k: v.clone().requires_grad_(True) for k, v in tensors.items() if k != 'lm_head.weight' or not cfg.get('tie_word_embeddings')}
        theta = cfg.get('rope_theta', 10000.0)
        self.inv_freq = 1.0 / (theta ** (torch.arange(0, self.D, 2, dtype=torch.int64).float() / self.D))

    @staticmethod
    def random(cfg, seed):
        g = torch.Generator().manual_seed(seed)
        H, I, V = cfg['hidden_size'], cfg['intermediate_size'], cfg['vocab_size']
        heads = cfg['num_attention_heads']
        kv = cfg.get('num_key_value_heads', heads)
        D = cfg.get('head_dim') or H // heads
        t = {'model.embed_tokens.weight': torch.randn(V, H, generator=g) * 0.02, 'model.norm.weight': torch.ones(H)}
        for i in range(cfg['num_hidden_layers']):
            l = f'model.layers.{i}.'
            t[l + 'input_layernorm.weight'] = torch.ones(H)
            t[l + 'post_attention_layernorm.weight'] = torch.ones(H)
            for n, shape in [('self_attn.q_proj', (heads * D, H)), ('self_attn.k_proj', (kv * D, H)), ('self_attn.v_proj', (kv * D, H)),
                             ('self_attn.o_proj', (H, heads * D)), ('mlp.gate_proj', (I, H)), ('mlp.up_proj', (I, H)), ('mlp.down_proj', (H, I))]:
                t[l + n + '.weight'] = torch.randn(*shape, generator=g) * 0.02
        if not cfg.get('tie_word_embeddings'):
            t['lm_head.weight'] = torch.randn(V, H, generator=g) * 0.02
        return Llama(cfg, t)

    def params(self):
        return list(self.p.values())

    def rms(self, x, w):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * w

    def rope(self, x, pos):
        f = pos[:, None, :, None].float() * self.inv_freq
        emb = torch.cat([f, f], -1)
        cos, sin = emb.cos(), emb.sin()
        half = self.D // 2
        rot = torch.cat([-x[..., half:], x[..., :half]], -1)
        return x * cos + rot * sin

    def forward(self, ids, pos, key_mask, cache=None):
        """ids, pos [B, T]; key_mask [B, S] (past + T); returns logits [B, T, V] and the new cache."""
        B, T = ids.shape
        p = self.p
        x = F.embedding(ids, p['model.embed_tokens.weight'])
        past = 0 if cache is None else cache[0][0].shape[2]
        S = past + T
        causal = torch.ones(T, S, dtype=torch.bool).tril(past)
        allowed = causal[None, None] & key_mask[:, None, None, :].bool()
        bias = torch.zeros(B, 1, T, S).masked_fill(~allowed, -1e9)
        rep = self.heads // self.kv
        new_cache = []
        for i in range(self.L):
            l = f'model.layers.{i}.'
            h = self.rms(x, p[l + 'input_layernorm.weight'])
            q = F.linear(h, p[l + 'self_attn.q_proj.weight']).view(B, T, self.heads, self.D).transpose(1, 2)
            k = F.linear(h, p[l + 'self_attn.k_proj.weight']).view(B, T, self.kv, self.D).transpose(1, 2)
            v = F.linear(h, p[l + 'self_attn.v_proj.weight']).view(B, T, self.kv, self.D).transpose(1, 2)
            q = self.rope(q, pos)
            k = self.rope(k, pos)
            if cache is not None:
                k = torch.cat([cache[i][0], k], 2)
                v = torch.cat([cache[i][1], v], 2)
            new_cache.append((k, v))
            kk = k.repeat_interleave(rep, 1)
            vv = v.repeat_interleave(rep, 1)
            att = torch.softmax(q @ kk.transpose(-1, -2) / math.sqrt(self.D) + bias, -1)
            o = (att @ vv).transpose(1, 2).reshape(B, T, self.heads * self.D)
            x = x + F.linear(o, p[l + 'self_attn.o_proj.weight'])
            h2 = self.rms(x, p[l + 'post_attention_layernorm.weight'])
            x = x + F.linear(F.silu(F.linear(h2, p[l + 'mlp.gate_proj.weight'])) * F.linear(h2, p[l + 'mlp.up_proj.weight']), p[l + 'mlp.down_proj.weight'])
        x = self.rms(x, p['model.norm.weight'])
        head = p.get('lm_head.weight', p['model.embed_tokens.weight'])
        return F.linear(x, head), new_cache


def rows(cfg, a):
    """The same synthetic rows as bench/rl-shape.ts's syntheticRows."""
    V = cfg['vocab_size']
    n = a.prompts * a.generations
    prompts = [[3 + ((i // a.generations * 131 + j * 17) % (V - 3)) for j in range(a.prompt_len)] for i in range(n)]
    comps = [[3 + ((i * 7919 + j * 31) % (V - 3)) for j in range(a.new_tokens)] for i in range(n)]
    g = torch.Generator().manual_seed(5)
    adv = torch.rand(n, generator=g) * 2 - 1
    return torch.tensor(prompts), torch.tensor(comps), adv


def update(model, opt, prompts, comps, adv, micro, saved_counter=None):
    n, P = prompts.shape
    C = comps.shape[1]
    tokens = n * C
    opt.zero_grad(set_to_none=True)
    total = 0.0
    param_ptrs = {t.data_ptr() for t in model.params()}
    for s in range(0, n, micro):
        ids = torch.cat([prompts[s:s + micro], comps[s:s + micro]], 1)
        B, L = ids.shape
        pos = torch.arange(L)[None].expand(B, L)
        mask = torch.ones(B, L)
        seen = {}

        def pack(t):
            if saved_counter is not None and t.data_ptr() not in param_ptrs:
                seen[t.data_ptr()] = max(seen.get(t.data_ptr(), 0), t.numel() * t.element_size())
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            logits, _ = model.forward(ids, pos, mask)
            logp = torch.log_softmax(logits[:, :-1], -1)
            lp = logp.gather(-1, ids[:, 1:, None])[..., 0]
            with torch.no_grad():
                _entropy = -(logp.exp() * logp).sum(-1)
            cm = torch.zeros(B, L - 1)
            cm[:, P - 1:] = 1
            ratio = torch.exp(lp - lp.detach())
            a = adv[s:s + micro, None]
            per = -torch.minimum(ratio * a, ratio.clamp(0.8, 1.2) * a)
            loss = (per * cm).sum() / tokens
        if saved_counter is not None:
            saved_counter.append(sum(seen.values()))
        loss.backward()
        total += loss.item()
    torch.nn.utils.clip_grad_norm_(model.params(), 1.0)
    opt.step()
    return total


@torch.no_grad()
def rollout(model, prompts, new_tokens, seed=1):
    g = torch.Generator().manual_seed(seed)
    B, P = prompts.shape
    pos = torch.arange(P)[None].expand(B, P)
    mask = torch.ones(B, P)
    logits, cache = model.forward(prompts, pos, mask)
    out = []
    for t in range(new_tokens):
        probs = torch.softmax(logits[:, -1], -1)
        tok = torch.multinomial(probs, 1, generator=g)
        out.append(tok)
        mask = torch.cat([mask, torch.ones(B, 1)], 1)
        logits, cache = model.forward(tok, torch.full((B, 1), P + t), mask, cache)
    return torch.cat(out, 1)


def timed(f):
    t0 = time.perf_counter()
    r = f()
    return time.perf_counter() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--model', help='Hub-layout folder with config.json and model.safetensors')
    ap.add_argument('--config', help='config.json only: random weights')
    ap.add_argument('--threads', type=int, default=1)
    ap.add_argument('--prompts', type=int, default=16)
    ap.add_argument('--generations', type=int, default=8)
    ap.add_argument('--prompt-len', type=int, default=60)
    ap.add_argument('--new-tokens', type=int, default=96)
    ap.add_argument('--micro-batch', type=int, default=32)
    ap.add_argument('--no-rollout', action='store_true')
    ap.add_argument('--check-logits')
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    if a.model:
        cfg = json.load(open(os.path.join(a.model, 'config.json')))
        model = Llama(cfg, read_safetensors(os.path.join(a.model, 'model.safetensors')))
    else:
        cfg = json.load(open(a.config))
        model = Llama.random(cfg, 1)
    res = {'torch': torch.__version__, 'threads': torch.get_num_threads(), 'blas': blas_name()}
    if a.check_logits:
        ref = json.load(open(a.check_logits))
        ids = torch.tensor(ref['ids']).view(ref['batch'], ref['length'])
        with torch.no_grad():
            logits, _ = model.forward(ids, torch.arange(ref['length'])[None].expand_as(ids), torch.ones_like(ids))
        res['logits_max_abs_diff'] = (logits.flatten() - torch.tensor(ref['logits'])).abs().max().item()
        res['logits_max_abs'] = logits.abs().max().item()
    prompts, comps, adv = rows(cfg, a)
    opt = torch.optim.AdamW(model.params(), lr=1e-6, weight_decay=0.0)
    saved = []
    update(model, opt, prompts, comps, adv, a.micro_batch, saved)
    res['saved_for_backward_bytes'] = max(saved)
    res['update_s'], _ = timed(lambda: update(model, opt, prompts, comps, adv, a.micro_batch))
    if not a.no_rollout:
        rollout(model, prompts, 4)
        res['rollout_s'], _ = timed(lambda: rollout(model, prompts, a.new_tokens))
    x, y = torch.randn(512, 512), torch.randn(512, 512)
    for _ in range(3):
        x @ y
    s, _ = timed(lambda: [x @ y for _ in range(20)])
    res['matmul512_gflops'] = 2 * 512 ** 3 / (s / 20) / 1e9
    res['peak_rss_bytes'] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
    print(json.dumps(res))


def blas_name():
    """Which BLAS the process mapped: the reference BLAS makes PyTorch look ~25x slower."""
    try:
        with open('/proc/self/maps') as f:
            libs = {line.split()[-1] for line in f if 'blas' in line.lower()}
        return ', '.join(sorted(os.path.basename(os.path.dirname(l)) + '/' + os.path.basename(l) for l in libs)) or 'none mapped'
    except OSError:
        return 'unknown'


if __name__ == '__main__':
    sys.exit(main())
