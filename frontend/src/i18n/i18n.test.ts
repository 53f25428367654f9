import { describe, expect, it } from "vitest";

import { en } from "./en";
import { detectLanguage, languageFor } from "./index";
import { zhHans } from "./zh-Hans";

function leaves(tree: object, prefix = ""): [string, string][] {
  return Object.entries(tree).flatMap(([key, value]): [string, string][] =>
    typeof value === "string"
      ? [[prefix + key, value]]
      : leaves(value as object, `${prefix}${key}.`),
  );
}

describe("languages", () => {
  it("maps any Chinese to Simplified Chinese and English variants to English", () => {
    expect(languageFor("zh-CN")).toBe("zh-Hans");
    expect(languageFor("zh-Hans")).toBe("zh-Hans");
    expect(languageFor("zh")).toBe("zh-Hans");
    expect(languageFor("en-GB")).toBe("en");
    expect(languageFor("fr")).toBeNull();
    expect(languageFor(null)).toBeNull();
  });

  it("prefers the choice made on this device, then the browser's languages", () => {
    localStorage.setItem("animate.language", "zh-Hans");
    expect(detectLanguage()).toBe("zh-Hans");
    localStorage.removeItem("animate.language");
    expect(detectLanguage()).toBe("en"); // jsdom's navigator says en-US
  });

  it("has every English string in Chinese, with the same placeholders", () => {
    const chinese = new Map(leaves(zhHans));
    for (const [key, english] of leaves(en)) {
      const translated = chinese.get(key);
      expect(translated, key).toBeDefined();
      if (english) expect(translated, key).not.toBe("");
      const names = (s: string) => [...s.matchAll(/\{\{(\w+)\}\}/g)].map((m) => m[1]).sort();
      expect(names(translated ?? ""), key).toEqual(names(english));
    }
  });
});
