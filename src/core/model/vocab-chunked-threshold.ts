/**
 * From this vocabulary size on, tokenLogProbs takes the row-blocked custom-gradient head
 * (vocab-chunked-logprobs.ts), which keeps no [B, T, V] intermediates on the tape; below it the
 * plain log-softmax head. A file of its own so that the memory estimate (also used by the page)
 * can read it without importing tfjs.
 *
 * Measured (bench/logprobs-vocab.ts, wasm, head forward + backward, plain vs row-blocked): at
 * V = 4096 and the update's micro-batch of 32 × 156 positions the plain head peaks at 1.6 GB (21
 * logit sizes, more than a tab can count on) against 0.31 GB, and takes 2.3–3.2 s against
 * 1.0–1.7 s. At the shipped model's 384 tokens the row-blocked head also measured faster
 * (0.14–0.18 s against 0.25–0.42 s) and leaner (67 against 154 MB at its peak), but the head is a
 * few percent of that update and the shipped model's runs and their recorded trajectories were
 * made with the plain head, so it stays there until the RL test has run with the other one.
 */
export const VOCAB_CHUNKED_MIN = 4096;
