import { useId, type InputHTMLAttributes, type ReactNode } from "react";

import type { ErrorItem } from "../api/errors";
import { useErrorText } from "./useErrorText";

interface FieldProps extends InputHTMLAttributes<HTMLInputElement> {
  label: string;
  hint?: ReactNode;
  errors?: ErrorItem[];
}

/** A labelled input with its hint and its own errors, tied by aria-describedby. */
export function Field({ label, hint, errors = [], ...input }: FieldProps) {
  const id = useId();
  const errorText = useErrorText();
  const hintId = hint ? `${id}-hint` : undefined;
  const errorId = errors.length ? `${id}-error` : undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input
        id={id}
        aria-invalid={errors.length ? true : undefined}
        aria-describedby={[hintId, errorId].filter(Boolean).join(" ") || undefined}
        {...input}
      />
      {hint ? (
        <p className="hint" id={hintId}>
          {hint}
        </p>
      ) : null}
      {errors.length ? (
        <p className="field-error" id={errorId}>
          {errors.map(errorText).join(" ")}
        </p>
      ) : null}
    </div>
  );
}
