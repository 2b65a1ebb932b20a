/**
 * From this vocabulary size on, tokenLogProbs takes the row-blocked custom-gradient head
 * (vocab-chunked-logprobs.ts), which keeps no [B, T, V] intermediates on the tape; below it the
 * plain log-softmax head. A file of its own so that the memory estimate (also used by the page)
 * can read it without importing tfjs.
 *
 * Measured (bench/logprobs-vocab.ts, wasm, head forward + backward): at V = 4096 and the update's
 * micro-batch of 32 × 156 positions, the plain head peaks at 1.6 GB (21 logit sizes, more than a
 * tab can count on) against 0.31 GB, for 1.3–1.7× its time; at the shipped model's 384 tokens the
 * two take the same time and the head is a few percent of the update, so the plain head, whose
 * results the shipped model's runs were measured with, stays there.
 */
export const VOCAB_CHUNKED_MIN = 4096;
