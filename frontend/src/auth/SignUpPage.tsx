import { useState, type SyntheticEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";

import { ApiError } from "../api/errors";
import { FormErrors } from "../components/Alert";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { useSignUp } from "./api";
import { SocialButtons } from "./SocialButtons";

export function SignUpPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const signUp = useSignUp();
  const [name, setName] = useState("");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const error = signUp.error instanceof ApiError ? signUp.error : null;
  const fields = ["display_name", "email", "password"];

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    signUp.mutate(
      { email, password, ...(name ? { display_name: name } : {}) },
      { onSuccess: () => void navigate("/", { replace: true }) },
    );
  };

  return (
    <Page title={t("auth.signUp.title")} narrow>
      <form className="card form" onSubmit={submit} noValidate>
        <FormErrors errors={error?.general(fields) ?? []} />
        <Field
          label={t("auth.displayName")}
          name="display_name"
          autoComplete="nickname"
          value={name}
          onChange={(e) => setName(e.target.value)}
          hint={t("common.optional")}
          errors={error?.forField("display_name")}
        />
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
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint={t("auth.passwordHint")}
          errors={error?.forField("password")}
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={signUp.isPending}>
          {signUp.isPending ? t("auth.signUp.pending") : t("auth.signUp.submit")}
        </button>
      </form>
      <SocialButtons next="/" />
      <p className="center">
        {t("auth.signUp.haveAccount")} <Link to="/sign-in">{t("auth.signIn.link")}</Link>
      </p>
    </Page>
  );
}
