import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";

import { ApiError } from "../api/errors";
import type { CreditPackage } from "../api/types";
import { useConfig } from "../app/config";
import { FormErrors } from "../components/Alert";
import { formatDateTime, formatMoney, formatNumber } from "../components/format";
import { Loading } from "../components/Loading";
import { Page } from "../components/Page";
import { Pagination } from "../components/Pagination";
import {
  rememberPayment,
  useBuyWithStripe,
  useBuyWithWechat,
  useCredits,
  useLedger,
  usePackages,
  usePayments,
} from "./api";

function isMobile(): boolean {
  return window.matchMedia("(pointer: coarse)").matches;
}

function Balance() {
  const { t, i18n } = useTranslation();
  const { data, isPending } = useCredits();
  if (isPending || !data) return <Loading />;
  const n = (v: number) => formatNumber(v, i18n.language);
  return (
    <section aria-labelledby="balance-h" className="card">
      <h2 id="balance-h">{t("credits.balanceTitle")}</h2>
      <dl className="stats">
        <div>
          <dt>{t("credits.available")}</dt>
          <dd>{n(data.available)}</dd>
        </div>
        <div>
          <dt>{t("credits.reserved")}</dt>
          <dd>{n(data.reserved)}</dd>
        </div>
        <div>
          <dt>{t("credits.balance")}</dt>
          <dd>{n(data.balance)}</dd>
        </div>
      </dl>
      <p className="hint">{t("credits.reservedHint")}</p>
    </section>
  );
}

function PackageCard({ pkg }: { pkg: CreditPackage }) {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const { data: config } = useConfig();
  const stripe = useBuyWithStripe();
  const wechat = useBuyWithWechat();
  const stripeCurrencies = config?.payments.stripe?.currencies.map((c) => c.toUpperCase()) ?? [];
  const wechatTypes = config?.payments.wechat?.trade_types ?? [];
  // Stripe charges the first of its currencies (the default first) the package has.
  const stripePrice = stripeCurrencies
    .map((c) => pkg.prices.find((p) => p.currency.toUpperCase() === c))
    .find((p) => p !== undefined);
  const cnyPrice = pkg.prices.find((p) => p.currency.toUpperCase() === "CNY");
  const money = (p: { amount: number; currency: string }) =>
    formatMoney(p.amount, p.currency, i18n.language);
  const error = [stripe.error, wechat.error].find((e) => e instanceof ApiError);
  const busy = stripe.isPending || wechat.isPending;

  const payWithStripe = () => {
    if (!stripePrice) return;
    stripe.mutate(
      { package_id: pkg.id, currency: stripePrice.currency },
      {
        onSuccess: (payment) => {
          rememberPayment(payment.id);
          if (payment.checkout_url) window.location.assign(payment.checkout_url);
        },
      },
    );
  };

  const payWithWechat = () => {
    const tradeType = isMobile() && wechatTypes.includes("h5") ? "h5" : "native";
    wechat.mutate(
      { package_id: pkg.id, trade_type: tradeType },
      {
        onSuccess: (payment) => {
          if (tradeType === "h5" && payment.h5_url) {
            // The platform has appended the return page (WECHATPAY_H5_REDIRECT_URL).
            rememberPayment(payment.id);
            window.location.assign(payment.h5_url);
          } else {
            void navigate(`/credits/payments/${payment.id}`);
          }
        },
      },
    );
  };

  return (
    <li className="card package" aria-labelledby={`package-${pkg.id}`}>
      <h3 id={`package-${pkg.id}`}>{pkg.name}</h3>
      <p className="package-credits">
        {t("credits.packageCredits", {
          count: pkg.credits,
          n: formatNumber(pkg.credits, i18n.language),
        })}
      </p>
      <div className="package-actions">
        {stripePrice ? (
          <button type="button" className="btn btn-primary" disabled={busy} onClick={payWithStripe}>
            {t("credits.buyWithCard", { price: money(stripePrice) })}
          </button>
        ) : null}
        {cnyPrice && wechatTypes.some((x) => x === "native" || x === "h5") ? (
          <button
            type="button"
            className="btn btn-secondary"
            disabled={busy}
            onClick={payWithWechat}
          >
            {t("credits.buyWithWechat", { price: money(cnyPrice) })}
          </button>
        ) : null}
      </div>
      {error instanceof ApiError ? <FormErrors errors={error.errors} /> : null}
    </li>
  );
}

function Packages() {
  const { t } = useTranslation();
  const { data: packages, isPending, error } = usePackages();
  const { data: config } = useConfig();
  const noProvider = config && !config.payments.stripe && !config.payments.wechat;
  return (
    <section aria-labelledby="buy-h">
      <h2 id="buy-h">{t("credits.buyTitle")}</h2>
      {isPending ? <Loading /> : null}
      {error instanceof ApiError ? <FormErrors errors={error.errors} /> : null}
      {noProvider ? <p className="hint">{t("credits.noProvider")}</p> : null}
      {packages && packages.length === 0 ? <p>{t("credits.noPackages")}</p> : null}
      {packages?.length ? (
        <ul className="packages">
          {packages.map((pkg) => (
            <PackageCard key={pkg.id} pkg={pkg} />
          ))}
        </ul>
      ) : null}
    </section>
  );
}

function Ledger() {
  const { t, i18n } = useTranslation();
  const [page, setPage] = useState(1);
  const { data, isPending, error } = useLedger(page);
  return (
    <section aria-labelledby="ledger-h">
      <h2 id="ledger-h">{t("credits.ledgerTitle")}</h2>
      {isPending ? <Loading /> : null}
      {error instanceof ApiError ? <FormErrors errors={error.errors} /> : null}
      {data && data.results.length === 0 ? <p>{t("credits.ledgerEmpty")}</p> : null}
      {data?.results.length ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t("credits.ledgerTitle")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("credits.when")}</th>
                <th scope="col">{t("credits.what")}</th>
                <th scope="col" className="num">
                  {t("credits.change")}
                </th>
                <th scope="col" className="num">
                  {t("credits.balanceAfter")}
                </th>
              </tr>
            </thead>
            <tbody>
              {data.results.map((entry) => {
                const amount = entry.amount;
                const held = entry.reserved_delta;
                return (
                  <tr key={entry.id}>
                    <td>{formatDateTime(entry.created_at, i18n.language)}</td>
                    <td>
                      {t(`credits.kind.${entry.kind}`)}
                      {entry.ref.startsWith("animation_task:") ? (
                        <>
                          {" · "}
                          <Link to={`/tasks/${entry.ref.split(":")[1] ?? ""}`}>
                            {t("credits.seeTask")}
                          </Link>
                        </>
                      ) : null}
                    </td>
                    <td className="num">
                      {amount !== 0
                        ? `${amount > 0 ? "+" : ""}${formatNumber(amount, i18n.language)}`
                        : held !== 0
                          ? t("credits.held", { n: formatNumber(held, i18n.language) })
                          : "0"}
                    </td>
                    <td className="num">{formatNumber(entry.balance_after, i18n.language)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      ) : null}
      {data ? <Pagination page={page} count={data.count} pageSize={20} onPage={setPage} /> : null}
    </section>
  );
}

function Payments() {
  const { t, i18n } = useTranslation();
  const [page, setPage] = useState(1);
  const { data, isPending, error } = usePayments(page);
  return (
    <section aria-labelledby="payments-h">
      <h2 id="payments-h">{t("credits.paymentsTitle")}</h2>
      {isPending ? <Loading /> : null}
      {error instanceof ApiError ? <FormErrors errors={error.errors} /> : null}
      {data && data.results.length === 0 ? <p>{t("credits.paymentsEmpty")}</p> : null}
      {data?.results.length ? (
        <div className="table-wrap">
          <table>
            <caption className="visually-hidden">{t("credits.paymentsTitle")}</caption>
            <thead>
              <tr>
                <th scope="col">{t("credits.when")}</th>
                <th scope="col">{t("credits.package")}</th>
                <th scope="col">{t("credits.provider")}</th>
                <th scope="col" className="num">
                  {t("credits.amount")}
                </th>
                <th scope="col">{t("credits.status")}</th>
              </tr>
            </thead>
            <tbody>
              {data.results.map((p) => (
                <tr key={p.id}>
                  <td>{formatDateTime(p.created_at, i18n.language)}</td>
                  <td>
                    {p.package.name} ·{" "}
                    {t("credits.packageCredits", {
                      count: p.credits,
                      n: formatNumber(p.credits, i18n.language),
                    })}
                  </td>
                  <td>{t(`credits.providerName.${p.provider}`)}</td>
                  <td className="num">{formatMoney(p.amount, p.currency, i18n.language)}</td>
                  <td>
                    <span className={`badge badge-${p.status}`}>
                      {t(`credits.paymentStatus.${p.status}`)}
                    </span>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      ) : null}
      {data ? <Pagination page={page} count={data.count} pageSize={20} onPage={setPage} /> : null}
    </section>
  );
}

export function CreditsPage() {
  const { t } = useTranslation();
  return (
    <Page title={t("credits.title")}>
      <Balance />
      <Packages />
      <Ledger />
      <Payments />
    </Page>
  );
}
