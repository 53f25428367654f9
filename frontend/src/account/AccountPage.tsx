import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useId, useState, type SyntheticEvent } from "react";
import { useTranslation } from "react-i18next";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { session } from "../api/session";
import type { User } from "../api/types";
import { useConfig } from "../app/config";
import { meKey, useMe } from "../auth/api";
import { startSocialSignIn, type Provider } from "../auth/social";
import { FormErrors, Notice } from "../components/Alert";
import { Field } from "../components/Field";
import { formatDateTime } from "../components/format";
import { Loading } from "../components/Loading";
import { Page } from "../components/Page";
import { changeLanguage, languageFor, LANGUAGES, type Language } from "../i18n";

function Profile({ me }: { me: User }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const localeId = useId();
  const [name, setName] = useState(me.display_name);
  const [avatar, setAvatar] = useState(me.avatar_url ?? "");
  const [locale, setLocale] = useState<Language>(languageFor(me.locale) ?? "en");
  const save = useMutation({
    mutationFn: () =>
      unwrap(
        api.PUT("/api/users/profile", {
          body: { display_name: name, avatar_url: avatar || null, locale },
        }),
      ),
    onSuccess: (user) => {
      queryClient.setQueryData(meKey, user);
      void changeLanguage(languageFor(user.locale) ?? "en");
    },
  });
  const error = save.error instanceof ApiError ? save.error : null;
  const fields = ["display_name", "avatar_url", "locale"];

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    save.mutate();
  };

  return (
    <section className="card" aria-labelledby="profile-h">
      <h2 id="profile-h">{t("account.profile")}</h2>
      <div className="profile-head">
        {me.avatar_url ? (
          <img className="avatar" src={me.avatar_url} alt={t("account.avatarAlt")} />
        ) : null}
        <dl className="facts">
          <div>
            <dt>{t("auth.email")}</dt>
            <dd>{me.email ?? t("account.noEmail")}</dd>
          </div>
          <div>
            <dt>{t("account.joined")}</dt>
            <dd>{formatDateTime(me.date_joined, locale)}</dd>
          </div>
        </dl>
      </div>
      <form className="form" onSubmit={submit} noValidate>
        <FormErrors errors={error?.general(fields) ?? []} />
        <Field
          label={t("auth.displayName")}
          name="display_name"
          value={name}
          onChange={(e) => setName(e.target.value)}
          errors={error?.forField("display_name")}
        />
        <Field
          label={t("account.avatarUrl")}
          name="avatar_url"
          type="url"
          inputMode="url"
          value={avatar}
          onChange={(e) => setAvatar(e.target.value)}
          errors={error?.forField("avatar_url")}
        />
        <div className="field">
          <label htmlFor={localeId}>{t("account.locale")}</label>
          <select
            id={localeId}
            value={locale}
            onChange={(e) => setLocale(e.target.value as Language)}
          >
            {LANGUAGES.map((l) => (
              <option key={l.tag} value={l.tag} lang={l.tag}>
                {l.name}
              </option>
            ))}
          </select>
          <p className="hint">{t("account.localeHint")}</p>
        </div>
        <button type="submit" className="btn btn-primary" disabled={save.isPending}>
          {t("account.save")}
        </button>
        {save.isSuccess ? <Notice tone="success">{t("account.saved")}</Notice> : null}
      </form>
    </section>
  );
}

function Providers({ me }: { me: User }) {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const { data: config } = useConfig();
  const unlink = useMutation({
    mutationFn: (provider: Provider) =>
      unwrap(api.DELETE("/api/users/providers/{provider}", { params: { path: { provider } } })),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: meKey }),
  });
  const clientIds: Record<Provider, string | undefined> = {
    google: config?.sign_in.google?.client_id,
    wechat: config?.sign_in.wechat?.app_id,
  };
  const providers: Provider[] = ["google", "wechat"];
  const error = unlink.error instanceof ApiError ? unlink.error : null;
  return (
    <section className="card" aria-labelledby="providers-h">
      <h2 id="providers-h">{t("account.providers")}</h2>
      <ul className="providers">
        {providers.map((provider) => {
          const linked = me.providers.includes(provider);
          const clientId = clientIds[provider];
          if (!linked && !clientId) return null;
          const name = t(`account.provider.${provider}`);
          return (
            <li key={provider}>
              <span>
                {name} · {linked ? t("account.linked") : t("account.notLinked")}
              </span>
              {linked ? (
                <button
                  type="button"
                  className="btn btn-secondary"
                  disabled={unlink.isPending}
                  onClick={() => unlink.mutate(provider)}
                  aria-label={t("account.unlinkAria", { name })}
                >
                  {t("account.unlink")}
                </button>
              ) : clientId ? (
                <button
                  type="button"
                  className="btn btn-secondary"
                  onClick={() => startSocialSignIn(provider, clientId, "/account")}
                  aria-label={t("account.linkAria", { name })}
                >
                  {t("account.link")}
                </button>
              ) : null}
            </li>
          );
        })}
        {!me.providers.length && !clientIds.google && !clientIds.wechat ? (
          <li className="hint">{t("account.noProviders")}</li>
        ) : null}
      </ul>
      {error ? <FormErrors errors={error.errors} /> : null}
    </section>
  );
}

function DeleteAccount() {
  const { t } = useTranslation();
  const queryClient = useQueryClient();
  const [password, setPassword] = useState("");
  const [sure, setSure] = useState(false);
  const sureId = useId();
  const erase = useMutation({
    mutationFn: () => unwrap(api.DELETE("/api/users/account", { body: { password } })),
    onSuccess: () => {
      // The sign-in page (where RequireAuth now sends the browser) says it is done.
      session.end("deleted");
      queryClient.clear();
    },
  });
  const error = erase.error instanceof ApiError ? erase.error : null;

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    if (sure) erase.mutate();
  };

  return (
    <section className="card danger" aria-labelledby="delete-h">
      <h2 id="delete-h">{t("account.delete.title")}</h2>
      <p>{t("account.delete.warning")}</p>
      <ul>
        <li>{t("account.delete.erased1")}</li>
        <li>{t("account.delete.erased2")}</li>
        <li>{t("account.delete.erased3")}</li>
        <li>{t("account.delete.kept")}</li>
      </ul>
      <form className="form" onSubmit={submit} noValidate>
        <FormErrors errors={error?.general(["password"]) ?? []} />
        <Field
          label={t("account.delete.password")}
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          errors={error?.forField("password")}
        />
        <div className="check">
          <input
            id={sureId}
            type="checkbox"
            checked={sure}
            onChange={(e) => setSure(e.target.checked)}
          />
          <label htmlFor={sureId}>{t("account.delete.confirm")}</label>
        </div>
        <button type="submit" className="btn btn-danger" disabled={!sure || erase.isPending}>
          {t("account.delete.submit")}
        </button>
      </form>
    </section>
  );
}

export function AccountPage() {
  const { t } = useTranslation();
  const { data: me } = useMe();
  return (
    <Page title={t("account.title")}>
      {me ? (
        <>
          <Profile key={`${me.id}:${me.locale}`} me={me} />
          <Providers me={me} />
          <DeleteAccount />
        </>
      ) : (
        <Loading />
      )}
    </Page>
  );
}
