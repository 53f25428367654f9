import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { ApiError } from "../api/errors";
import { FormErrors, Notice } from "../components/Alert";
import { Loading } from "../components/Loading";
import { Page } from "../components/Page";
import { useVerifyEmail } from "./api";
import { ResendVerification } from "./ResendVerification";
import { useSession } from "./useSession";

export function VerifyEmailPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const key = params.get("key") ?? "";
  const verify = useVerifyEmail();
  const state = useSession();
  const sent = useRef(false);

  useEffect(() => {
    if (sent.current || !key) return;
    sent.current = true;
    verify.mutate(key);
  }, [key, verify]);

  const error =
    verify.error instanceof ApiError
      ? verify.error
      : !key
        ? new ApiError(400, [{ code: "invalid_key", detail: "", attr: null, extra: {} }])
        : null;

  return (
    <Page title={t("auth.verify.title")} narrow>
      {verify.isSuccess ? (
        <>
          <Notice tone="success">{t("auth.verify.done")}</Notice>
          <p>
            <Link className="btn btn-primary" to={state.status === "signed-in" ? "/" : "/sign-in"}>
              {t("auth.verify.continue")}
            </Link>
          </p>
        </>
      ) : error ? (
        <FormErrors errors={error.errors}>
          {state.status === "signed-in" ? <ResendVerification /> : null}
        </FormErrors>
      ) : (
        <Loading label={t("auth.verify.pending")} />
      )}
    </Page>
  );
}
