import { useEffect, useRef, type ReactNode } from "react";
import { useTranslation } from "react-i18next";

/** A page: its title in the tab and an h1 that takes focus when the page opens,
 * so keyboard and screen-reader users start at the new content. */
export function Page({
  title,
  actions,
  narrow,
  children,
}: {
  title: string;
  actions?: ReactNode;
  narrow?: boolean;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    document.title = `${title} · ${t("app.name")}`;
  }, [title, t]);
  useEffect(() => {
    heading.current?.focus({ preventScroll: true });
  }, []);
  return (
    <div className={narrow ? "page page-narrow" : "page"}>
      <div className="page-head">
        <h1 tabIndex={-1} ref={heading}>
          {title}
        </h1>
        {actions ? <div className="page-actions">{actions}</div> : null}
      </div>
      {children}
    </div>
  );
}
