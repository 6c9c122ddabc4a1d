// File transfers of the Files panel: XMLHttpRequest for upload progress, a streamed fetch for download progress.
import { ApiError, errorMessage } from '../api/client.ts';

export interface Transfer {
  path: string;
  done: number;
  total: number;
  state: 'running' | 'done' | 'failed';
}

/** The file's API URL; a plain link to it lets the browser stream a large download straight to disk. */
export const fileUrl = (envId: string, path: string) =>
  `/api/v1/environments/${encodeURIComponent(envId)}/files?path=${encodeURIComponent(path)}`;

function apiErrorOf(status: number, text: string): ApiError {
  let e: { code?: string; message?: string } | undefined;
  try {
    e = (JSON.parse(text) as { error?: { code?: string; message?: string } }).error;
  } catch {
    e = undefined;
  }
  return new ApiError(status, e?.code ?? `http_${status}`, e?.message ?? (text.slice(0, 200) || `HTTP ${status}`));
}

/** PUTs the file as the raw body; the edge takes a non-JSON body from the console only with the upload header. */
export function uploadFile(envId: string, path: string, file: Blob, onProgress: (done: number) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', fileUrl(envId, path));
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.setRequestHeader('x-remotegpu-upload', '1');
    xhr.upload.onprogress = (ev) => onProgress(ev.loaded);
    xhr.onload = () => {
      if (xhr.status === 201) {
        onProgress(file.size);
        resolve();
      } else reject(apiErrorOf(xhr.status, xhr.responseText));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network_error', 'the upload was interrupted'));
    xhr.send(file);
  });
}

/** Reads the file with progress, then hands it to the browser as a download named like the file. */
export async function downloadFile(
  envId: string,
  path: string,
  onProgress: (done: number, total: number) => void,
): Promise<void> {
  const res = await fetch(fileUrl(envId, path), { credentials: 'same-origin' });
  if (!res.ok || !res.body) throw apiErrorOf(res.status, await res.text());
  const total = Number(res.headers.get('content-length') ?? 0);
  const parts: Uint8Array[] = [];
  let done = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { value, done: end } = await reader.read();
    if (end) break;
    parts.push(value);
    done += value.byteLength;
    onProgress(done, total);
  }
  if (total && done !== total) throw new ApiError(502, 'short_download', `got ${done} of ${total} bytes`);
  const url = URL.createObjectURL(new Blob(parts as BlobPart[], { type: 'application/octet-stream' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = path.slice(path.lastIndexOf('/') + 1);
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

export const transferError = errorMessage;
