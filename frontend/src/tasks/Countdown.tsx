import { useEffect, useState } from "react";
import { useTranslation } from "react-i18next";

import { formatClock } from "../components/format";

/** Time left until the estimated finish, ticking each second. */
export function Countdown({ until }: { until: string }) {
  const { t } = useTranslation();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const left = (Date.parse(until) - now) / 1000;
  return (
    <p className="countdown" role="timer" aria-live="off">
      {left > 0 ? t("task.timeLeft", { time: formatClock(left) }) : t("task.finishingUp")}
    </p>
  );
}
