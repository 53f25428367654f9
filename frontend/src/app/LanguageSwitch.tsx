import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useEffect, useId } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap } from "../api/client";
import type { User } from "../api/types";
import { meKey, useMe } from "../auth/api";
import { useSession } from "../auth/useSession";
import { changeLanguage, languageFor, LANGUAGES, type Language } from "../i18n";

/** The language switch. Signed in, the choice is the account's ``locale`` (the
 * server's emails and messages follow it), and the account's locale wins on load. */
export function LanguageSwitch() {
  const { t, i18n } = useTranslation();
  const id = useId();
  const state = useSession();
  const { data: me } = useMe();
  const queryClient = useQueryClient();
  const save = useMutation({
    mutationFn: (locale: Language) => unwrap(api.PUT("/api/users/profile", { body: { locale } })),
    onSuccess: (user: User) => queryClient.setQueryData(meKey, user),
  });

  const userLanguage = languageFor(me?.locale);
  useEffect(() => {
    if (userLanguage) void changeLanguage(userLanguage);
  }, [userLanguage]);

  const choose = (language: Language) => {
    void changeLanguage(language);
    if (state.status === "signed-in" && me && languageFor(me.locale) !== language) {
      save.mutate(language);
    }
  };

  return (
    <div className="language">
      <label htmlFor={id} className="visually-hidden">
        {t("common.language")}
      </label>
      <select
        id={id}
        value={languageFor(i18n.language) ?? "en"}
        onChange={(e) => choose(e.target.value as Language)}
      >
        {LANGUAGES.map((l) => (
          <option key={l.tag} value={l.tag} lang={l.tag}>
            {l.short}
          </option>
        ))}
      </select>
    </div>
  );
}
