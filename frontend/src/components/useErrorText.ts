import { useCallback } from "react";
import { useTranslation } from "react-i18next";

import type { ErrorItem } from "../api/errors";

/** An error's words: its code translated, else the server's detail, else a generic line. */
export function useErrorText(): (item: ErrorItem) => string {
  const { t, i18n } = useTranslation();
  return useCallback(
    (item: ErrorItem) => {
      const key = `errors.${item.code}`;
      if (i18n.exists(key)) {
        // Codes are an open set: the key is built at run time.
        return t(key as "errors.error", { ...item.extra, detail: item.detail });
      }
      return item.detail || t("errors.error");
    },
    [t, i18n],
  );
}
