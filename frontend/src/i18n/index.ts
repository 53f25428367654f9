// Every string of the console, in English and Simplified Chinese (i18next).
// The language is the signed-in user's ``locale``, else the one chosen with
// the switch (kept in localStorage), else the browser's.
import i18n from "i18next";
import { initReactI18next } from "react-i18next";

import { setApiLanguage } from "../api/base";
import { en } from "./en";
import { zhHans } from "./zh-Hans";

export const LANGUAGES = [
  { tag: "en", name: "English", short: "English" },
  { tag: "zh-Hans", name: "简体中文", short: "中文" },
] as const;
export type Language = (typeof LANGUAGES)[number]["tag"];

const CHOICE_KEY = "animate.language";

/** The console language for a BCP 47 tag: any Chinese is zh-Hans, else English. */
export function languageFor(tag: string | null | undefined): Language | null {
  if (!tag) return null;
  const lower = tag.toLowerCase();
  if (lower.startsWith("zh")) return "zh-Hans";
  if (lower.startsWith("en")) return "en";
  return null;
}

export function detectLanguage(): Language {
  let chosen: string | null;
  try {
    chosen = localStorage.getItem(CHOICE_KEY);
  } catch {
    chosen = null;
  }
  const fromChoice = languageFor(chosen);
  if (fromChoice) return fromChoice;
  const browser =
    typeof navigator !== "undefined" ? [...navigator.languages, navigator.language] : [];
  for (const tag of browser) {
    const language = languageFor(tag);
    if (language) return language;
  }
  return "en";
}

/** Switch the console's language (and remember the choice on this device). */
export async function changeLanguage(language: Language, remember = true): Promise<void> {
  if (remember) {
    try {
      localStorage.setItem(CHOICE_KEY, language);
    } catch {
      // Not remembered: the choice lasts for this page.
    }
  }
  if (i18n.language !== language) await i18n.changeLanguage(language);
}

i18n.on("languageChanged", (language) => {
  setApiLanguage(language);
  if (typeof document !== "undefined") document.documentElement.lang = language;
});

void i18n.use(initReactI18next).init({
  resources: { en: { translation: en }, "zh-Hans": { translation: zhHans } },
  lng: detectLanguage(),
  fallbackLng: "en",
  supportedLngs: ["en", "zh-Hans"],
  interpolation: { escapeValue: false },
  returnNull: false,
});

export default i18n;
