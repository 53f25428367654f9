import { useTranslation } from "react-i18next";
import { useParams } from "react-router";

import { Page } from "../components/Page";
import { PaymentStatus } from "./PaymentStatus";

export function PaymentPage() {
  const { t } = useTranslation();
  const { paymentId = "" } = useParams();
  return (
    <Page title={t("credits.paymentTitle")} narrow>
      <PaymentStatus id={paymentId} />
    </Page>
  );
}
