import { useCallback, useRef, useState } from "react";

import { ApiError, networkError } from "../api/errors";
import type { MediaFile } from "../api/types";
import { uploadFile } from "../api/upload";

/** One file's upload: progress 0..1, the stored file, or the server's refusal. */
export function useUpload(kind: "image" | "video") {
  const [progress, setProgress] = useState<number | null>(null);
  const [done, setDone] = useState(false);
  const [error, setError] = useState<ApiError | null>(null);
  const abort = useRef<AbortController | null>(null);

  const reset = useCallback(() => {
    abort.current?.abort();
    abort.current = null;
    setProgress(null);
    setDone(false);
    setError(null);
  }, []);

  const start = useCallback(
    (file: File, { onDone }: { onDone: (file: MediaFile) => void }) => {
      const controller = new AbortController();
      abort.current = controller;
      setProgress(0);
      setDone(false);
      setError(null);
      uploadFile(file, kind, { onProgress: setProgress, signal: controller.signal }).then(
        (stored) => {
          if (controller.signal.aborted) return;
          setProgress(1);
          setDone(true);
          onDone(stored);
        },
        (failure: unknown) => {
          if (controller.signal.aborted) return;
          setError(failure instanceof ApiError ? failure : networkError());
        },
      );
    },
    [kind],
  );

  return { progress, done, error, start, reset };
}
