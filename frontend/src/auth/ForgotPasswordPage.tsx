import { useState, type SyntheticEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ApiError } from "../api/errors";
import { FormErrors, Notice } from "../components/Alert";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { usePasswordReset } from "./api";

export function ForgotPasswordPage() {
  const { t } = useTranslation();
  const reset = usePasswordReset();
  const [email, setEmail] = useState("");
  const error = reset.error instanceof ApiError ? reset.error : null;

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    reset.mutate(email);
  };

  return (
    <Page title={t("auth.forgot.title")} narrow>
      {reset.isSuccess ? (
        <Notice tone="success">{t("auth.forgot.sent")}</Notice>
      ) : (
        <form className="card form" onSubmit={submit} noValidate>
          <p>{t("auth.forgot.intro")}</p>
          <FormErrors errors={error?.general(["email"]) ?? []} />
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
          <button type="submit" className="btn btn-primary btn-block" disabled={reset.isPending}>
            {t("auth.forgot.submit")}
          </button>
        </form>
      )}
      <p className="center">
        <Link to="/sign-in">{t("auth.signIn.link")}</Link>
      </p>
    </Page>
  );
}
