import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { apiBase, languageHeader } from "../api/base";
import { ApiError, parseErrors, retryAfterOf } from "../api/errors";
import { session } from "../api/session";
import { FormErrors } from "../components/Alert";

async function resend(): Promise<void> {
  // TRANSITIONAL: becomes api.POST("/api/auth/email/resend") once the schema has it.
  const token = session.accessToken ?? (await session.refresh());
  const response = await fetch(`${apiBase}/api/auth/email/resend`, {
    method: "POST",
    headers: { ...languageHeader(), Authorization: `Bearer ${token ?? ""}` },
  });
  if (!response.ok) {
    const body: unknown = await response.json().catch(() => null);
    throw new ApiError(response.status, parseErrors(body), retryAfterOf(response));
  }
}

/** "Send the email again", for a signed-in user whose address is not verified. */
export function ResendVerification() {
  const { t } = useTranslation();
  const mutation = useMutation({ mutationFn: resend });
  return (
    <div className="resend">
      <button
        type="button"
        className="btn btn-secondary"
        onClick={() => mutation.mutate()}
        disabled={mutation.isPending || mutation.isSuccess}
      >
        {t("auth.verify.resend")}
      </button>
      {mutation.isSuccess ? (
        <p role="status" className="hint">
          {t("auth.verify.resent")}
        </p>
      ) : null}
      {mutation.error instanceof ApiError ? <FormErrors errors={mutation.error.errors} /> : null}
    </div>
  );
}
