import { useState, type SyntheticEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";

import { ApiError } from "../api/errors";
import { session } from "../api/session";
import { FormErrors } from "../components/Alert";
import { Field } from "../components/Field";
import { Page } from "../components/Page";
import { usePasswordResetConfirm } from "./api";

export function ResetPasswordPage() {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const confirm = usePasswordResetConfirm();
  const [password, setPassword] = useState("");
  const [again, setAgain] = useState("");
  const [mismatch, setMismatch] = useState(false);
  const key = params.get("key") ?? "";
  const error = confirm.error instanceof ApiError ? confirm.error : null;

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    if (password !== again) {
      setMismatch(true);
      return;
    }
    setMismatch(false);
    confirm.mutate(
      { key, password },
      {
        onSuccess: () => {
          // A reset signs out everywhere, this tab included.
          if (session.isSignedIn) session.end("signed-out");
          void navigate("/sign-in?reset=1", { replace: true });
        },
      },
    );
  };

  return (
    <Page title={t("auth.reset.title")} narrow>
      <form className="card form" onSubmit={submit} noValidate>
        <FormErrors errors={error?.general(["password"]) ?? []}>
          {error?.code === "invalid_key" ? (
            <p>
              <Link to="/forgot-password">{t("auth.forgot.link")}</Link>
            </p>
          ) : null}
        </FormErrors>
        <Field
          label={t("auth.newPassword")}
          type="password"
          name="password"
          autoComplete="new-password"
          required
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          hint={t("auth.passwordHint")}
          errors={error?.forField("password")}
        />
        <Field
          label={t("auth.repeatPassword")}
          type="password"
          name="password2"
          autoComplete="new-password"
          required
          value={again}
          onChange={(e) => setAgain(e.target.value)}
          errors={
            mismatch
              ? [{ code: "password_mismatch", detail: "", attr: "password2", extra: {} }]
              : []
          }
        />
        <button type="submit" className="btn btn-primary btn-block" disabled={confirm.isPending}>
          {t("auth.reset.submit")}
        </button>
      </form>
    </Page>
  );
}
