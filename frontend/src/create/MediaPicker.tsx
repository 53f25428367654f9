import { useEffect, useId, useRef, useState, type DragEvent } from "react";
import { useTranslation } from "react-i18next";

import type { ErrorItem } from "../api/errors";
import type { MediaFile } from "../api/types";
import { formatBytes, formatClock } from "../components/format";
import { useErrorText } from "../components/useErrorText";
import { mediaProblems, readMedia, type MediaFacts, type MediaLimits } from "./mediaChecks";
import { useUpload } from "./useUpload";

interface Props {
  kind: "image" | "video";
  label: string;
  help: string;
  accept: string;
  limits: MediaLimits;
  onUploaded: (file: MediaFile | null) => void;
}

/** Pick or drop one file, see it, check it, upload it (with progress). */
export function MediaPicker({ kind, label, help, accept, limits, onUploaded }: Props) {
  const { t, i18n } = useTranslation();
  const id = useId();
  const errorText = useErrorText();
  const input = useRef<HTMLInputElement>(null);
  const [file, setFile] = useState<File | null>(null);
  const [url, setUrl] = useState<string | null>(null);
  const [facts, setFacts] = useState<MediaFacts | null>(null);
  const [problems, setProblems] = useState<ErrorItem[]>([]);
  const [dragging, setDragging] = useState(false);
  const upload = useUpload(kind);

  useEffect(
    () => () => {
      if (url) URL.revokeObjectURL(url);
    },
    [url],
  );

  const choose = async (chosen: File | undefined) => {
    if (!chosen) return;
    upload.reset();
    onUploaded(null);
    const objectUrl = URL.createObjectURL(chosen);
    setFile(chosen);
    setUrl(objectUrl);
    const read = await readMedia(chosen, objectUrl);
    setFacts(read);
    const found = mediaProblems(read, limits, kind);
    setProblems(found);
    if (found.length === 0) {
      upload.start(chosen, { onDone: onUploaded });
    }
  };

  const onDrop = (event: DragEvent) => {
    event.preventDefault();
    setDragging(false);
    void choose(event.dataTransfer.files[0]);
  };

  const serverErrors = upload.error?.errors ?? [];
  const shown = problems.length ? problems : serverErrors;
  const errorId = `${id}-error`;
  const helpId = `${id}-help`;

  return (
    <div
      className={`picker${dragging ? " picker-drag" : ""}${shown.length ? " picker-invalid" : ""}`}
      onDragOver={(e) => {
        e.preventDefault();
        setDragging(true);
      }}
      onDragLeave={() => setDragging(false)}
      onDrop={onDrop}
    >
      <label htmlFor={id} className="picker-label">
        {label}
      </label>
      <p className="hint" id={helpId}>
        {help}
      </p>
      {/* The browser's own file button speaks the browser's language, not the
          console's: the input is kept (labelled, for assistive tech and tests)
          but shown as a button of ours. */}
      <div className="picker-choose">
        <input
          ref={input}
          id={id}
          type="file"
          accept={accept}
          className="visually-hidden picker-input"
          aria-describedby={shown.length ? `${helpId} ${errorId}` : helpId}
          aria-invalid={shown.length ? true : undefined}
          onChange={(e) => void choose(e.target.files?.[0])}
        />
        <label htmlFor={id} className="btn btn-secondary picker-button" aria-hidden="true">
          {file
            ? t("create.chooseAnother")
            : t(kind === "image" ? "create.chooseImage" : "create.chooseVideo")}
        </label>
        {file ? <span className="picker-name">{file.name}</span> : null}
      </div>
      {url && file ? (
        <div className="preview">
          {kind === "image" ? (
            <img src={url} alt={t("create.previewOf", { name: file.name })} />
          ) : (
            <video
              src={url}
              controls
              muted
              playsInline
              aria-label={t("create.previewOf", { name: file.name })}
            />
          )}
          <p className="file-facts">
            <span>{file.name}</span>
            <span>{formatBytes(file.size, i18n.language)}</span>
            {facts?.width && facts.height ? (
              <span>
                {facts.width}×{facts.height}
              </span>
            ) : null}
            {facts?.duration && Number.isFinite(facts.duration) ? (
              <span>{formatClock(facts.duration)}</span>
            ) : null}
          </p>
        </div>
      ) : (
        <p className="drop-hint" aria-hidden="true">
          {t("create.dropHint")}
        </p>
      )}
      {upload.progress !== null && !upload.error ? (
        <div className="progress">
          <label htmlFor={`${id}-progress`}>
            {upload.done ? t("create.uploaded") : t("create.uploading")}
          </label>
          <progress id={`${id}-progress`} max={1} value={upload.progress} />
        </div>
      ) : null}
      {shown.length ? (
        <p className="field-error" id={errorId} role="alert">
          {shown.map(errorText).join(" ")}
        </p>
      ) : null}
    </div>
  );
}
