import { useMutation } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";

import { api, unwrap } from "../api/client";
import { ApiError } from "../api/errors";
import { FormErrors } from "../components/Alert";

/** "Send the email again", for a signed-in user whose address is not verified. */
export function ResendVerification() {
  const { t } = useTranslation();
  const mutation = useMutation({
    mutationFn: () => unwrap(api.POST("/api/auth/email/resend")),
  });
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
