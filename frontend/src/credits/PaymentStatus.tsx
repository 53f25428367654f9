import { useTranslation } from "react-i18next";
import { Link } from "react-router";

import { ApiError } from "../api/errors";
import { FormErrors, Notice } from "../components/Alert";
import { formatMoney, formatNumber } from "../components/format";
import { Loading } from "../components/Loading";
import { QrCode } from "../components/QrCode";
import { usePayment } from "./api";

/** A payment until it settles: the QR code to scan while it is pending (WeChat
 * native), then paid / failed / canceled. Credits come from the provider's
 * notification; this page only watches for them. */
export function PaymentStatus({ id }: { id: string }) {
  const { t, i18n } = useTranslation();
  const { data: payment, error } = usePayment(id);
  if (error instanceof ApiError) return <FormErrors errors={error.errors} />;
  if (!payment) return <Loading />;
  const status = payment.status;
  const amount = formatMoney(payment.amount, payment.currency, i18n.language);
  return (
    <div className="card payment">
      <p>
        {t("credits.paymentSummary", {
          name: payment.package.name,
          n: formatNumber(payment.credits, i18n.language),
          amount,
        })}
      </p>
      {status === "pending" ? (
        <>
          {payment.code_url ? (
            <div className="qr-box">
              <QrCode value={payment.code_url} label={t("credits.qrAlt", { amount })} />
              <p>{t("credits.scanWithWechat")}</p>
            </div>
          ) : null}
          <Loading label={t("credits.waitingForPayment")} />
        </>
      ) : status === "paid" ? (
        <Notice tone="success">
          {t("credits.paid", { n: formatNumber(payment.credits, i18n.language) })}
        </Notice>
      ) : (
        <Notice tone="warning">{t(`credits.paymentStatus.${status}`)}</Notice>
      )}
      <p>
        <Link to="/credits">{t("credits.backToCredits")}</Link>
      </p>
    </div>
  );
}
