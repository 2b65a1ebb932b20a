/**
 * JSONL import: bad lines named by number and field, an absurdly long question refused before it
 * reaches the tokenizer, and GSM8K final answers normalised as GSM8K's own extract_answer does.
 */
import { describe, expect, it } from 'vitest';
import { MAX_QUESTION_CHARS, parseJsonl, splitGsm8k } from '../../src/core/tasks/jsonl';

describe('JSONL bad inputs', () => {
  const cases: [string, string, RegExp][] = [
    ['a 5 MB question', JSON.stringify({ question: 'x'.repeat(5_000_000), answer: '1' }), /^Line 1: field "question" is 5,000,000 characters; questions are limited to 100,000/],
    ['a long "prompt" field', `{"question": "a", "answer": "1"}\n${JSON.stringify({ prompt: 'y'.repeat(MAX_QUESTION_CHARS + 1), answer: '2' })}`, /^Line 2: field "prompt" is 100,001 characters/],
    ['a line that is a JSON string', '"just text"', /^Line 1: each line must be a JSON object/],
    ['an answer that is an object', '{"question": "a", "answer": {"value": 1}}', /^Line 1: field "answer" must be a string, got object/],
    ['a GSM8K answer with an empty final line', '{"question": "a", "answer": "work\\n#### "}', /^Line 1: no answer/],
    ['a file of blank lines', '\n\n  \n', /has no problems \(the file is empty\)/],
    ['a truncated last line', '{"question": "a", "answer": "1"}\n{"question": "b", "ans', /^Line 2: not valid JSON/],
  ];
  it.each(cases)('%s', (_what, text, re) => {
    expect(() => parseJsonl(text, 'mydata')).toThrow(re);
  });
});

describe('GSM8K answers', () => {
  it('drops thousands separators from the final answer, as extract_answer does', () => {
    expect(splitGsm8k('She pays 2,000 + 125 = <<2000+125=2125>>2,125 dollars.\n#### 2,125')).toEqual({ solution: 'She pays 2,000 + 125 = 2,125 dollars.', answer: '2125' });
    expect(splitGsm8k('#### 1,000,000')?.answer).toBe('1000000');
    expect(splitGsm8k('#### -3,5')?.answer).toBe('-35');
    expect(splitGsm8k('#### 0.75')?.answer).toBe('0.75');
  });

  it('through the importer, so the default reward compares "2125" with "2125"', () => {
    const [p] = parseJsonl(JSON.stringify({ question: 'How much?', answer: 'It costs 2,125.\n#### 2,125' }), 'gsm8k');
    expect(p!.answer).toBe('2125');
  });
});
