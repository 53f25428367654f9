import { renderHook } from "@testing-library/react";
import { afterEach, describe, expect, it } from "vitest";

import type { ErrorItem } from "../api/errors";
import { changeLanguage } from "../i18n";
import { useErrorText } from "./useErrorText";

const item = (
  code: string,
  extra: Record<string, unknown> = {},
  attr: string | null = null,
  detail = "",
): ErrorItem => ({
  code,
  detail,
  attr,
  extra,
});

afterEach(async () => {
  await changeLanguage("en");
});

describe("error messages", () => {
  it("come from the code, translated, with the numbers the error carries", async () => {
    await changeLanguage("zh-Hans");
    const { result } = renderHook(() => useErrorText());

    expect(result.current(item("insufficient_credits", { needed: 180, available: 100 }))).toBe(
      "积分不足：需要 180，你有 100。",
    );
    expect(result.current(item("file_too_large", { max_bytes: 5 * 1048576 }))).toBe(
      "文件太大：最大 5 MB。",
    );
  });

  it("can read differently for one field", () => {
    const { result } = renderHook(() => useErrorText());

    expect(result.current(item("invalid_credentials", {}, "password"))).toBe(
      "The password is incorrect.",
    );
    expect(result.current(item("invalid_credentials"))).toBe(
      "That email and password do not match an account.",
    );
  });

  it("fall back to the server's detail for a code the console does not know", () => {
    const { result } = renderHook(() => useErrorText());

    expect(result.current(item("brand_new_code", {}, null, "Something specific."))).toBe(
      "Something specific.",
    );
    expect(result.current(item("brand_new_code"))).toBe("Something went wrong. Please try again.");
  });
});
