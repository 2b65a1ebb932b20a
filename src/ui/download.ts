/** Saves bytes or text as a file through a temporary object URL (no server involved). */
export function downloadFile(name: string, data: BlobPart, type = 'application/octet-stream'): void {
  const url = URL.createObjectURL(new Blob([data], { type }));
  const a = document.createElement('a');
  a.href = url;
  a.download = name;
  a.style.display = 'none';
  document.body.appendChild(a);
  a.click();
  a.remove();
  // The download has taken its copy once click() returns; revoke later so slow browsers still get it.
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
