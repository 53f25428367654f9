import { describe, expect, it } from "vitest";

import { MAX_POLL_MS, MIN_POLL_MS, pollDelay, PollBackoff } from "./polling";

describe("polling without a live stream", () => {
  it("starts at 2 s, slows down while nothing changes, and never passes 30 s", () => {
    const backoff = new PollBackoff();
    const waits = Array.from({ length: 12 }, () => backoff.next("running"));

    expect(waits[0]).toBe(2_000);
    expect(waits[1]).toBe(3_000);
    expect(waits.every((w, i) => i === 0 || w >= (waits[i - 1] ?? 0))).toBe(true);
    expect(Math.max(...waits)).toBe(MAX_POLL_MS);
    expect(Math.min(...waits)).toBe(MIN_POLL_MS);
  });

  it("goes back to 2 s when the task moves on", () => {
    const backoff = new PollBackoff();
    backoff.next("queued");
    backoff.next("queued");
    backoff.next("queued");

    expect(backoff.next("running")).toBe(2_000);
  });

  it("asks soon after the estimated finish, but never faster than every 2 s", () => {
    const now = Date.parse("2026-01-01T00:00:00Z");

    expect(pollDelay(20_000, "2026-01-01T00:00:05Z", now)).toBe(6_000);
    expect(pollDelay(20_000, "2026-01-01T00:00:00.500Z", now)).toBe(MIN_POLL_MS);
    expect(pollDelay(8_000, "2026-01-01T00:10:00Z", now)).toBe(8_000);
    expect(pollDelay(8_000, "2025-12-31T23:00:00Z", now)).toBe(8_000);
    expect(pollDelay(8_000, null, now)).toBe(8_000);
  });
});
