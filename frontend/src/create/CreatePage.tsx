import { useState, type SyntheticEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, useNavigate } from "react-router";

import { ApiError } from "../api/errors";
import type { MediaFile, TaskMode, TaskType } from "../api/types";
import { FormErrors } from "../components/Alert";
import { formatNumber } from "../components/format";
import { Page } from "../components/Page";
import { useConfig } from "../app/config";
import { useCredits } from "../credits/api";
import { useQuote, useStartJob } from "./api";
import { MediaPicker } from "./MediaPicker";
import { IMAGE_LIMITS, VIDEO_LIMITS } from "./mediaChecks";

function Choice<T extends string>({
  legend,
  name,
  value,
  options,
  onChange,
}: {
  legend: string;
  name: string;
  value: T;
  options: { value: T; label: string; hint: string }[];
  onChange: (value: T) => void;
}) {
  return (
    <fieldset className="choice">
      <legend>{legend}</legend>
      {options.map((o) => (
        <label
          key={o.value}
          className={o.value === value ? "choice-option checked" : "choice-option"}
        >
          <input
            type="radio"
            name={name}
            value={o.value}
            checked={o.value === value}
            onChange={() => onChange(o.value)}
          />
          <span className="choice-title">{o.label}</span>
          <span className="choice-hint">{o.hint}</span>
        </label>
      ))}
    </fieldset>
  );
}

export function CreatePage() {
  const { t, i18n } = useTranslation();
  const navigate = useNavigate();
  const [image, setImage] = useState<MediaFile | null>(null);
  const [video, setVideo] = useState<MediaFile | null>(null);
  const [type, setType] = useState<TaskType>("move");
  const [mode, setMode] = useState<TaskMode>("wan-std");
  const [key, setKey] = useState(() => crypto.randomUUID());
  const n = (v: number) => formatNumber(v, i18n.language);
  const { data: config } = useConfig();
  const imageLimits = config?.limits.image ?? IMAGE_LIMITS;
  const videoLimits = config?.limits.video ?? VIDEO_LIMITS;
  const mb = (bytes: number) => Math.round(bytes / 1048576);
  const rate = (m: TaskMode) =>
    config?.modes.find((x) => x.type === type && x.mode === m)?.credits_per_second;
  const rateHint = (m: TaskMode, hint: string) => {
    const perSecond = rate(m);
    return perSecond === undefined
      ? hint
      : t("create.hintWithRate", { hint, rate: t("create.perSecond", { n: n(perSecond) }) });
  };
  const quote = useQuote(video?.id ?? null, type, mode);
  const credits = useCredits();
  const start = useStartJob();

  const error = start.error instanceof ApiError ? start.error : null;
  const available = quote.data?.available ?? credits.data?.available;
  const cost = quote.data?.credits;
  const short = cost !== undefined && available !== undefined && cost > available;

  const submit = (event: SyntheticEvent) => {
    event.preventDefault();
    if (!image || !video) return;
    start.mutate(
      { type, mode, imageId: image.id, videoId: video.id, idempotencyKey: key },
      {
        onSuccess: (task) => void navigate(`/tasks/${task.id}`),
        onError: () => setKey(crypto.randomUUID()),
      },
    );
  };

  return (
    <Page title={t("create.title")}>
      <p className="lead">{t("create.intro")}</p>
      <form onSubmit={submit} noValidate className="create">
        <div className="pickers">
          <MediaPicker
            kind="image"
            label={t("create.image")}
            help={t("create.imageHelp", {
              mb: mb(imageLimits.max_bytes),
              min: imageLimits.min_side,
              max: imageLimits.max_side,
            })}
            accept={imageLimits.content_types.join(",")}
            limits={imageLimits}
            onUploaded={setImage}
          />
          <MediaPicker
            kind="video"
            label={t("create.video")}
            help={t("create.videoHelp", {
              mb: mb(videoLimits.max_bytes),
              min: videoLimits.min_side,
              max: videoLimits.max_side,
              shortest: videoLimits.min_seconds,
              longest: videoLimits.max_seconds,
            })}
            accept={`${videoLimits.content_types.join(",")},.mp4,.mov,.avi`}
            limits={videoLimits}
            onUploaded={setVideo}
          />
        </div>
        <div className="card options">
          <Choice
            legend={t("create.typeLegend")}
            name="type"
            value={type}
            onChange={setType}
            options={[
              { value: "move", label: t("create.type.move"), hint: t("create.type.moveHint") },
              { value: "mix", label: t("create.type.mix"), hint: t("create.type.mixHint") },
            ]}
          />
          <Choice
            legend={t("create.modeLegend")}
            name="mode"
            value={mode}
            onChange={setMode}
            options={[
              {
                value: "wan-std",
                label: t("create.mode.std"),
                hint: rateHint("wan-std", t("create.mode.stdHint")),
              },
              {
                value: "wan-pro",
                label: t("create.mode.pro"),
                hint: rateHint("wan-pro", t("create.mode.proHint")),
              },
            ]}
          />
          <div className="cost" aria-live="polite">
            {video && cost !== undefined ? (
              <p>{t("create.cost", { cost: n(cost), available: n(available ?? 0) })}</p>
            ) : video && quote.isFetching ? (
              <p>{t("create.costing")}</p>
            ) : !video ? (
              <p className="hint">{t("create.costAfterVideo")}</p>
            ) : null}
            {available !== undefined && cost === undefined ? (
              <p className="hint">{t("create.available", { available: n(available) })}</p>
            ) : null}
          </div>
          {short ? (
            <p className="alert alert-warning" role="status">
              {t("create.notEnough")} <Link to="/credits">{t("create.buyCredits")}</Link>
            </p>
          ) : null}
          <FormErrors errors={error?.errors ?? []}>
            {error?.code === "insufficient_credits" ? (
              <p>
                <Link to="/credits">{t("create.buyCredits")}</Link>
              </p>
            ) : null}
          </FormErrors>
          <button
            type="submit"
            className="btn btn-primary btn-large"
            disabled={!image || !video || start.isPending}
          >
            {start.isPending ? t("create.starting") : t("create.start")}
          </button>
        </div>
      </form>
    </Page>
  );
}
