import { useTranslation } from "react-i18next";

import { useConfig } from "../app/config";
import { startSocialSignIn } from "./social";

/** "Sign in with Google / WeChat", each shown only when this deployment has it. */
export function SocialButtons({ next }: { next: string }) {
  const { t } = useTranslation();
  const { data: config } = useConfig();
  const google = config?.sign_in.google?.client_id;
  const wechat = config?.sign_in.wechat?.app_id;
  if (!google && !wechat) return null;
  return (
    <div className="social">
      <p className="divider">
        <span>{t("auth.social.or")}</span>
      </p>
      {google ? (
        <button
          type="button"
          className="btn btn-secondary btn-block"
          onClick={() => startSocialSignIn("google", google, next)}
        >
          {t("auth.social.google")}
        </button>
      ) : null}
      {wechat ? (
        <button
          type="button"
          className="btn btn-secondary btn-block"
          onClick={() => startSocialSignIn("wechat", wechat, next)}
        >
          {t("auth.social.wechat")}
        </button>
      ) : null}
    </div>
  );
}
