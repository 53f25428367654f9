import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { Notice } from "../components/Alert";
import { Page } from "../components/Page";
import { recalledPayment } from "./api";
import { PaymentStatus } from "./PaymentStatus";

/** Where Stripe Checkout and WeChat H5 send the browser back. */
export function PaymentReturnPage() {
  const { t } = useTranslation();
  const [params] = useSearchParams();
  const id = params.get("payment") ?? recalledPayment();
  const canceled = params.get("canceled") !== null;
  return (
    <Page title={t("credits.paymentTitle")} narrow>
      {canceled ? <Notice tone="warning">{t("credits.checkoutCanceled")}</Notice> : null}
      {id ? (
        <PaymentStatus id={id} />
      ) : (
        <p>
          <Link to="/credits">{t("credits.backToCredits")}</Link>
        </p>
      )}
    </Page>
  );
}
