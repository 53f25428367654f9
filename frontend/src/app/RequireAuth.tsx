import { Navigate, Outlet, useLocation, useSearchParams } from "react-router";

import { safeNext } from "../auth/next";

import { useSession } from "../auth/useSession";

/** Signed-in pages: anyone else goes to sign-in, and comes back after. */
export function RequireAuth() {
  const state = useSession();
  const location = useLocation();
  if (state.status !== "signed-in") {
    // After an expired session, come back here; after signing out, start afresh.
    if (state.reason === "signed-out" || state.reason === "deleted") {
      return <Navigate to="/sign-in" replace />;
    }
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/sign-in?next=${next}`} replace />;
  }
  return <Outlet />;
}

/** Sign-in and sign-up pages: a signed-in user goes on (to ``?next=`` or the console). */
export function GuestOnly() {
  const state = useSession();
  const [params] = useSearchParams();
  if (state.status === "signed-in") return <Navigate to={safeNext(params.get("next"))} replace />;
  return <Outlet />;
}
