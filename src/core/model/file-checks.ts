/**
 * Whether fetched bytes really are the model file asked for. A static server with an SPA fallback
 * (Vite's dev and preview servers, many hosts) answers a missing path with the app's index.html
 * and status 200, so "the request succeeded" does not mean "the file exists". A file whose content
 * cannot be what its name says is treated as absent, and the reason is kept for messages.
 */

const decoder = new TextDecoder();

/** True when the bytes start like an HTML page (after whitespace, a BOM and comments). */
export function isHtmlDocument(bytes: Uint8Array): boolean {
  const head = decoder.decode(bytes.subarray(0, 1024)).replace(/^\uFEFF/, '');
  return /^\s*(<!--[\s\S]*?-->\s*)*<(!doctype\s+html|html|head|body|meta|script)[\s>]/i.test(head);
}

/** True when the content type says HTML and the file is not meant to be HTML. */
export function isHtmlContentType(contentType: string | null, name: string): boolean {
  return contentType !== null && /^\s*text\/html\b/i.test(contentType) && !/\.html?$/i.test(name);
}

/** A safetensors header: an 8-byte little-endian length that fits the file, then a JSON object. */
function safetensorsHeaderProblem(bytes: Uint8Array): string | null {
  if (bytes.byteLength < 10) return `it has ${bytes.byteLength} bytes, too few for a safetensors header`;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const len = view.getBigUint64(0, true);
  if (len < 2n || len > BigInt(bytes.byteLength - 8)) return `its header length (${len}) does not fit the file's ${bytes.byteLength} bytes`;
  // The header is JSON text: its first byte is "{" (safetensors writers pad the end with spaces only).
  if (bytes[8] !== 0x7b) return 'its header does not start with a JSON object';
  return null;
}

/**
 * Why `bytes` cannot be the file `name`, or null when they can: an HTML page for any non-HTML
 * file, JSON that does not parse for .json, a bad header for .safetensors.
 */
export function contentProblem(name: string, bytes: Uint8Array): string | null {
  if (!/\.html?$/i.test(name) && isHtmlDocument(bytes)) return 'the server answered with an HTML page instead';
  if (name.endsWith('.json')) {
    try {
      JSON.parse(decoder.decode(bytes));
    } catch (e) {
      return `it does not parse as JSON (${(e as Error).message})`;
    }
  }
  if (name.endsWith('.safetensors')) return safetensorsHeaderProblem(bytes);
  return null;
}
