import { useTranslation } from "react-i18next";
import { Link, NavLink, Outlet, useNavigate } from "react-router";

import { useMe, useSignOut } from "../auth/api";
import { ResendVerification } from "../auth/ResendVerification";
import { useSession } from "../auth/useSession";
import { useCredits } from "../credits/api";
import { TaskLiveUpdates } from "../tasks/live";
import { LanguageSwitch } from "./LanguageSwitch";

function CreditsPill() {
  const { t } = useTranslation();
  const { data } = useCredits();
  if (!data) return null;
  return (
    <Link
      to="/credits"
      className="pill"
      aria-label={t("credits.availableAria", { count: data.available })}
    >
      {t("credits.pill", { count: data.available })}
    </Link>
  );
}

function VerifyBanner() {
  const { t } = useTranslation();
  const { data: me } = useMe();
  if (!me || me.email_verified || !me.email) return null;
  return (
    <div className="banner" role="region" aria-label={t("auth.verify.bannerLabel")}>
      <p>{t("auth.verify.banner", { email: me.email })}</p>
      <ResendVerification />
    </div>
  );
}

export function Layout() {
  const { t } = useTranslation();
  const state = useSession();
  const signOut = useSignOut();
  const navigate = useNavigate();
  const signedIn = state.status === "signed-in";

  return (
    <TaskLiveUpdates>
      <a className="skip-link" href="#main">
        {t("common.skipToContent")}
      </a>
      <header className="topbar">
        <div className="topbar-inner">
          <Link to="/" className="brand">
            <span className="brand-mark" aria-hidden="true">
              ▶
            </span>
            {t("app.name")}
          </Link>
          <div className="topbar-tools">
            {signedIn ? <CreditsPill /> : null}
            <LanguageSwitch />
            {signedIn ? (
              <button
                type="button"
                className="btn btn-ghost"
                onClick={() =>
                  signOut.mutate(undefined, { onSettled: () => void navigate("/sign-in") })
                }
              >
                {t("nav.signOut")}
              </button>
            ) : null}
          </div>
        </div>
        {signedIn ? (
          <nav className="mainnav" aria-label={t("nav.label")}>
            <NavLink to="/" end>
              {t("nav.create")}
            </NavLink>
            <NavLink to="/tasks">{t("nav.tasks")}</NavLink>
            <NavLink to="/credits">{t("nav.credits")}</NavLink>
            <NavLink to="/account">{t("nav.account")}</NavLink>
          </nav>
        ) : null}
      </header>
      {signedIn ? <VerifyBanner /> : null}
      <main id="main">
        <Outlet />
      </main>
      <footer className="footer">
        <p>{t("app.footer")}</p>
      </footer>
    </TaskLiveUpdates>
  );
}
