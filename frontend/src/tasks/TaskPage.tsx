import { useState } from "react";
import { useTranslation } from "react-i18next";
import { Link, useParams } from "react-router";

import { ApiError } from "../api/errors";
import type { Task } from "../api/types";
import { FormErrors } from "../components/Alert";
import { formatDateTime, formatNumber } from "../components/format";
import { Loading } from "../components/Loading";
import { Page } from "../components/Page";
import { useErrorText } from "../components/useErrorText";
import { useCancelTask, useRetryTask, useTask } from "./api";
import { Countdown } from "./Countdown";
import { isFinal } from "./polling";
import { StatusBadge } from "./StatusBadge";

function Actions({ task }: { task: Task }) {
  const { t } = useTranslation();
  const cancel = useCancelTask(task.id);
  const retry = useRetryTask(task.id);
  const [retryKey, setRetryKey] = useState(() => crypto.randomUUID());
  const error = [cancel.error, retry.error].find((e) => e instanceof ApiError);
  const cancellable = task.status === "queued" || task.status === "submitted";
  const retryable = task.status === "failed" || task.status === "canceled";
  if (!cancellable && !retryable && !error) return null;
  return (
    <div className="task-actions">
      {cancellable ? (
        <button
          type="button"
          className="btn btn-secondary"
          disabled={cancel.isPending}
          onClick={() => cancel.mutate()}
        >
          {t("task.cancel")}
        </button>
      ) : null}
      {retryable ? (
        <button
          type="button"
          className="btn btn-primary"
          disabled={retry.isPending}
          onClick={() =>
            retry.mutate(retryKey, { onSettled: () => setRetryKey(crypto.randomUUID()) })
          }
        >
          {t("task.retry")}
        </button>
      ) : null}
      {error instanceof ApiError ? (
        <FormErrors errors={error.errors}>
          {error.code === "insufficient_credits" ? (
            <p>
              <Link to="/credits">{t("create.buyCredits")}</Link>
            </p>
          ) : null}
        </FormErrors>
      ) : null}
    </div>
  );
}

function Result({ task }: { task: Task }) {
  const { t, i18n } = useTranslation();
  if (!task.result) return null;
  return (
    <section className="card result" aria-labelledby="result-h">
      <h2 id="result-h">{t("task.result")}</h2>
      <video
        src={task.result.url}
        controls
        playsInline
        preload="metadata"
        aria-label={t("task.resultVideo")}
      />
      <p>
        <a className="btn btn-primary" href={task.result.url} download={`animate-${task.id}.mp4`}>
          {t("task.download")}
        </a>
      </p>
      <p className="hint">
        {t("task.linkExpires", { when: formatDateTime(task.result.expires_at, i18n.language) })}
      </p>
    </section>
  );
}

export function TaskPage() {
  const { t, i18n } = useTranslation();
  const { taskId = "" } = useParams();
  const { data: task, error } = useTask(taskId);
  const errorText = useErrorText();
  const n = (v: number) => formatNumber(v, i18n.language);

  if (error instanceof ApiError) {
    return (
      <Page title={t("task.title")}>
        <FormErrors errors={error.errors} />
        <Link to="/tasks">{t("task.backToHistory")}</Link>
      </Page>
    );
  }
  if (!task) return <Loading />;

  return (
    <Page
      title={t("task.heading", {
        type: t(`task.type.${task.type}`),
        mode: t(`task.mode.${task.mode}`),
      })}
      actions={<Link to="/tasks">{t("task.backToHistory")}</Link>}
    >
      <section className="card task-status" aria-labelledby="status-h">
        <h2 id="status-h" className="visually-hidden">
          {t("task.statusHeading")}
        </h2>
        <p role="status" className="status-line">
          {t("task.statusLabel")} <StatusBadge status={task.status} />
        </p>
        {!isFinal(task.status) ? (
          <>
            <p className="hint">{t(`task.statusHint.${task.status}`)}</p>
            {task.estimated_finish_at ? <Countdown until={task.estimated_finish_at} /> : null}
            <div className="indeterminate" aria-hidden="true" />
          </>
        ) : null}
        {task.error ? (
          <p className="alert alert-error">
            {errorText({
              code: task.error.code,
              detail: task.error.message,
              attr: null,
              extra: {},
            })}
          </p>
        ) : null}
        <Actions task={task} />
      </section>
      <Result task={task} />
      <section className="card" aria-labelledby="details-h">
        <h2 id="details-h">{t("task.details")}</h2>
        <div className="inputs">
          {task.image ? (
            <figure>
              <img src={task.image.url} alt={t("task.inputImage")} />
              <figcaption>{t("task.inputImage")}</figcaption>
            </figure>
          ) : null}
          {task.video ? (
            <figure>
              <video
                src={task.video.url}
                controls
                muted
                playsInline
                preload="metadata"
                aria-label={t("task.inputVideo")}
              />
              <figcaption>{t("task.inputVideo")}</figcaption>
            </figure>
          ) : null}
        </div>
        <dl className="facts">
          <div>
            <dt>{t("task.created")}</dt>
            <dd>{formatDateTime(task.created_at, i18n.language)}</dd>
          </div>
          {task.finished_at ? (
            <div>
              <dt>{t("task.finished")}</dt>
              <dd>{formatDateTime(task.finished_at, i18n.language)}</dd>
            </div>
          ) : null}
          <div>
            <dt>{t("task.creditsReserved")}</dt>
            <dd>{n(task.credits.reserved)}</dd>
          </div>
          <div>
            <dt>{t("task.creditsCharged")}</dt>
            <dd>{n(task.credits.charged)}</dd>
          </div>
          {task.credits.refunded ? (
            <div>
              <dt>{t("task.creditsRefunded")}</dt>
              <dd>{n(task.credits.refunded)}</dd>
            </div>
          ) : null}
          <div>
            <dt>{t("task.attempts")}</dt>
            <dd>{n(task.attempts)}</dd>
          </div>
        </dl>
      </section>
    </Page>
  );
}
