// Uploads go through XMLHttpRequest, the one browser API that reports upload
// progress; the same token rules as every other call apply.
import { apiBase, languageHeader } from "./base";
import { ApiError, networkError, parseErrors } from "./errors";
import { session } from "./session";
import type { MediaFile } from "./types";

export interface UploadOptions {
  onProgress?: (fraction: number) => void;
  signal?: AbortSignal;
}

interface Sent {
  status: number;
  body: unknown;
  retryAfter: number | null;
}

function send(form: FormData, token: string | null, options: UploadOptions): Promise<Sent> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open("POST", `${apiBase}/api/videos/upload`);
    if (token) xhr.setRequestHeader("Authorization", `Bearer ${token}`);
    for (const [name, value] of Object.entries(languageHeader())) xhr.setRequestHeader(name, value);
    xhr.responseType = "json";
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) options.onProgress?.(event.loaded / event.total);
    };
    xhr.onload = () => {
      const retry = Number(xhr.getResponseHeader("Retry-After"));
      resolve({
        status: xhr.status,
        body: xhr.response as unknown,
        retryAfter: Number.isFinite(retry) && retry > 0 ? retry : null,
      });
    };
    xhr.onerror = () => reject(networkError());
    xhr.onabort = () => reject(new DOMException("Upload canceled", "AbortError"));
    options.signal?.addEventListener("abort", () => xhr.abort());
    xhr.send(form);
  });
}

/** Upload one image or video; resolves to the stored file, rejects with ApiError. */
export async function uploadFile(
  file: File,
  kind: "image" | "video",
  options: UploadOptions = {},
): Promise<MediaFile> {
  const form = new FormData();
  form.append("kind", kind);
  form.append("file", file);
  let token = session.accessToken ?? (session.isSignedIn ? await session.refresh() : null);
  let sent = await send(form, token, options);
  if (sent.status === 401 && parseErrors(sent.body)[0]?.code === "token_not_valid") {
    token = await session.refresh();
    if (token) {
      options.onProgress?.(0);
      sent = await send(form, token, options);
    }
  }
  if (sent.status === 201) return sent.body as MediaFile;
  throw new ApiError(sent.status, parseErrors(sent.body), sent.retryAfter);
}
