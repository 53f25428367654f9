import { useState, type SyntheticEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";

import { ApiError } from "../api/errors";
import { FormErrors, Notice } from "../components/Alert";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { useSignIn } from "./api";
import { safeNext } from "./next";
import { SocialButtons } from "./SocialButtons";
import { useSession } from "./useSession";

export function SignInPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const state = useSession();
  const signIn = useSignIn();
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const next = safeNext(params.get("next"));
  const error = signIn.error instanceof ApiError ? signIn.error : null;
  const fields = ["email", "password"];

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    signIn.mutate({ email, password }, { onSuccess: () => void navigate(next, { replace: true }) });
  };

  return (
    <Page title={t("auth.signIn.title")} narrow>
      {state.status === "signed-out" && state.reason === "expired" ? (
        <Notice tone="warning">{t("auth.sessionExpired")}</Notice>
      ) : null}
      {params.get("reset") ? <Notice tone="success">{t("auth.reset.done")}</Notice> : null}
      {state.status === "signed-out" && state.reason === "deleted" ? (
        <Notice tone="success">{t("auth.deleted")}</Notice>
      ) : null}
      <form className="card form" onSubmit={submit} noValidate>
        <FormErrors errors={error?.general(fields) ?? []} />
        <Field
          label={t("auth.email")}
          type="email"
          name="email"
          autoComplete="email"
          required
          value={email}
          onChange={(e) => setEmail(e.target.value)}
          errors={error?.forField("email")}
        />
        <Field
          label={t("auth.password")}
          type="password"
          name="password"
          autoComplete="current-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          errors={error?.forField("password")}
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={signIn.isPending}>
          {signIn.isPending ? t("auth.signIn.pending") : t("auth.signIn.submit")}
        </button>
        <p className="form-links">
          <Link to="/forgot-password">{t("auth.forgot.link")}</Link>
        </p>
      </form>
      <SocialButtons next={next} />
      <p className="center">
        {t("auth.signIn.noAccount")} <Link to="/sign-up">{t("auth.signUp.link")}</Link>
      </p>
    </Page>
  );
}
