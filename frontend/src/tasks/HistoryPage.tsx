import { useId } from "react";
import { useTranslation } from "react-i18next";
import { Link, useSearchParams } from "react-router";

import { ApiError } from "../api/errors";
import type { Task, TaskStatus, TaskType } from "../api/types";
import { FormErrors } from "../components/Alert";
import { formatDateTime } from "../components/format";
import { Loading } from "../components/Loading";
import { Page } from "../components/Page";
import { Pagination } from "../components/Pagination";
import { useTasks } from "./api";
import { StatusBadge } from "./StatusBadge";

const STATUSES: TaskStatus[] = [
  "queued",
  "submitted",
  "running",
  "succeeded",
  "failed",
  "canceled",
];
const TYPES: TaskType[] = ["move", "mix"];
const PAGE_SIZE = 20;

function Thumbnail({ task }: { task: Task }) {
  const { t } = useTranslation();
  if (task.result) {
    // The result's first frame.
    return (
      <video
        className="thumb"
        src={`${task.result.url}#t=0.1`}
        preload="metadata"
        muted
        playsInline
        aria-label={t("task.resultVideo")}
      />
    );
  }
  if (task.image)
    return <img className="thumb" src={task.image.url} alt={t("task.inputImage")} loading="lazy" />;
  return <div className="thumb thumb-empty" aria-hidden="true" />;
}

export function HistoryPage() {
  const { t, i18n } = useTranslation();
  const [params, setParams] = useSearchParams();
  const statusId = useId();
  const typeId = useId();
  const status = (params.get("status") ?? "") as TaskStatus | "";
  const type = (params.get("type") ?? "") as TaskType | "";
  const page = Math.max(1, Number(params.get("page") ?? "1") || 1);
  const { data, isPending, error } = useTasks({
    status: status || undefined,
    type: type || undefined,
    page,
  });

  const set = (name: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(name, value);
    else next.delete(name);
    if (name !== "page") next.delete("page");
    setParams(next);
  };

  return (
    <Page
      title={t("history.title")}
      actions={
        <Link className="btn btn-primary" to="/">
          {t("history.new")}
        </Link>
      }
    >
      <div className="filters" role="group" aria-label={t("history.filters")}>
        <div className="field">
          <label htmlFor={statusId}>{t("history.status")}</label>
          <select id={statusId} value={status} onChange={(e) => set("status", e.target.value)}>
            <option value="">{t("history.any")}</option>
            {STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`task.status.${s}`)}
              </option>
            ))}
          </select>
        </div>
        <div className="field">
          <label htmlFor={typeId}>{t("history.type")}</label>
          <select id={typeId} value={type} onChange={(e) => set("type", e.target.value)}>
            <option value="">{t("history.any")}</option>
            {TYPES.map((x) => (
              <option key={x} value={x}>
                {t(`task.type.${x}`)}
              </option>
            ))}
          </select>
        </div>
      </div>
      {isPending ? <Loading /> : null}
      {error instanceof ApiError ? <FormErrors errors={error.errors} /> : null}
      {data && data.results.length === 0 ? (
        <p className="empty">{status || type ? t("history.noneMatching") : t("history.none")}</p>
      ) : null}
      {data?.results.length ? (
        <ul className="task-list">
          {data.results.map((task) => (
            <li key={task.id} className="card task-item">
              <Thumbnail task={task} />
              <div className="task-item-body">
                <Link to={`/tasks/${task.id}`} className="task-link">
                  {t("task.heading", {
                    type: t(`task.type.${task.type}`),
                    mode: t(`task.mode.${task.mode}`),
                  })}
                </Link>
                <p className="hint">{formatDateTime(task.created_at, i18n.language)}</p>
              </div>
              <StatusBadge status={task.status} />
            </li>
          ))}
        </ul>
      ) : null}
      {data ? (
        <Pagination
          page={page}
          count={data.count}
          pageSize={PAGE_SIZE}
          onPage={(p) => set("page", String(p))}
        />
      ) : null}
    </Page>
  );
}
