import { useCallback } from "react";
import { useTranslation } from "react-i18next";

import type { ErrorItem } from "../api/errors";

/** Numbers an error carries, made readable (bytes as MB, seconds to one place). */
function values(extra: Record<string, unknown>): Record<string, unknown> {
  const out = { ...extra };
  if (typeof extra.max_bytes === "number") out.max_mb = Math.round(extra.max_bytes / 1048576);
  if (typeof extra.duration === "number") out.duration = Math.round(extra.duration * 10) / 10;
  return out;
}

/** An error's words: its code translated (for its field, if it has words of its own),
 * else the server's detail, else a generic line. */
export function useErrorText(): (item: ErrorItem) => string {
  const { t, i18n } = useTranslation();
  return useCallback(
    (item: ErrorItem) => {
      // A code may read differently about one field (errors.<code>__<attr>).
      const specific = item.attr ? `errors.${item.code}__${item.attr}` : "";
      const key = specific && i18n.exists(specific) ? specific : `errors.${item.code}`;
      if (i18n.exists(key)) {
        // Codes are an open set: the key is built at run time.
        return t(key as "errors.error", { ...values(item.extra), detail: item.detail });
      }
      return item.detail || t("errors.error");
    },
    [t, i18n],
  );
}
