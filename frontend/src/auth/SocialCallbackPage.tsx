import { useEffect, useRef } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate, useSearchParams } from "react-router";

import { ApiError } from "../api/errors";
import { FormErrors } from "../components/Alert";
import { Loading } from "../components/Loading";
import { Page } from "../components/Page";
import { useSocialSignIn } from "./api";
import { callbackUrl, takePending, type Provider } from "./social";

export function SocialCallbackPage({ provider }: { provider: Provider }) {
  const { t } = useTranslation();
  const navigate = useNavigate();
  const [params] = useSearchParams();
  const signIn = useSocialSignIn(provider);
  const started = useRef(false);
  const code = params.get("code");

  useEffect(() => {
    if (started.current) return;
    started.current = true;
    const pending = takePending(provider, params.get("state"));
    if (!pending || !code) {
      signIn.reset();
      return;
    }
    signIn.mutate(
      { code, redirect_uri: callbackUrl(provider) },
      { onSuccess: () => void navigate(pending.next, { replace: true }) },
    );
  }, [provider, params, code, signIn, navigate]);

  const error =
    signIn.error instanceof ApiError
      ? signIn.error
      : !code || (!signIn.isPending && !signIn.isSuccess)
        ? new ApiError(400, [{ code: "social_login_failed", detail: "", attr: null, extra: {} }])
        : null;

  return (
    <Page title={t(provider === "google" ? "auth.social.google" : "auth.social.wechat")} narrow>
      {error && !signIn.isPending ? (
        <FormErrors errors={error.errors}>
          <p>
            <Link to="/sign-in">{t("auth.signIn.link")}</Link>
          </p>
        </FormErrors>
      ) : (
        <Loading label={t("auth.social.finishing")} />
      )}
    </Page>
  );
}
