/**
 * Saves bytes or text as a file the CSP-safe way: a Blob, an object URL and a temporary
 * `<a download>` clicked from script (no data: URLs, no inline handlers, nothing leaves the tab).
 */
export function saveFile(fileName: string, data: string | Uint8Array, type = 'application/octet-stream'): void {
  const blob = new Blob([typeof data === 'string' ? data : new Uint8Array(data)], { type });
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  link.rel = 'noopener';
  link.style.display = 'none';
  document.body.append(link);
  link.click();
  link.remove();
  // The download has its own reference to the blob once started; free the URL after this task.
  setTimeout(() => URL.revokeObjectURL(url), 0);
}

/** MIME types of the files Imprint hands out. */
export const FILE_TYPES = {
  pem: 'application/x-pem-file',
  der: 'application/pkix-crl',
  json: 'application/json',
  jsonl: 'application/x-ndjson',
  csv: 'text/csv',
} as const;
