import type { ReactNode } from "react";

import type { ErrorItem } from "../api/errors";
import { useErrorText } from "./useErrorText";

/** Errors the form has no field for; announced when they appear. */
export function FormErrors({ errors, children }: { errors: ErrorItem[]; children?: ReactNode }) {
  const errorText = useErrorText();
  if (!errors.length) return null;
  return (
    <div className="alert alert-error" role="alert">
      {errors.length === 1 && errors[0] ? (
        <p>{errorText(errors[0])}</p>
      ) : (
        <ul>
          {errors.map((e, i) => (
            <li key={i}>{errorText(e)}</li>
          ))}
        </ul>
      )}
      {children}
    </div>
  );
}

export function Notice({
  tone = "info",
  children,
}: {
  tone?: "info" | "success" | "warning";
  children: ReactNode;
}) {
  return (
    <div className={`alert alert-${tone}`} role="status">
      {children}
    </div>
  );
}
