import { afterEach, describe, expect, it, vi } from "vitest";

import { fakeNetwork, json } from "../test/http";
import { session } from "./session";

afterEach(() => {
  vi.unstubAllGlobals();
  session.end("signed-out");
});

describe("the session", () => {
  it("spends a refresh token once however many requests need a new access token", async () => {
    session.start({ access: "a0", refresh: "r0" });
    let served = 0;
    const { calls } = fakeNetwork({
      "POST /api/auth/refresh": () => {
        served += 1;
        return json(200, { access: `a${served}`, refresh: `r${served}` });
      },
    });

    const tokens = await Promise.all([session.refresh(), session.refresh(), session.refresh()]);

    expect(tokens).toEqual(["a1", "a1", "a1"]);
    expect(calls).toHaveLength(1);
    expect(session.accessToken).toBe("a1");
    expect(session.currentRefresh).toBe("r1");
  });

  it("keeps the session when the network is down (the request fails, not the sign-in)", async () => {
    session.start({ access: "a0", refresh: "r0" });
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.reject(new TypeError("offline"))),
    );

    expect(await session.refresh()).toBeNull();
    expect(session.getState()).toEqual({ status: "signed-in" });
  });

  it("follows another tab signing out", () => {
    session.start({ access: "a0", refresh: "r0" });
    localStorage.removeItem("animate.refresh");

    window.dispatchEvent(new StorageEvent("storage", { key: "animate.refresh", newValue: null }));

    expect(session.getState()).toEqual({ status: "signed-out", reason: "signed-out" });
    expect(session.accessToken).toBeNull();
  });

  it("tells listeners, and says why it ended", () => {
    const seen: string[] = [];
    const stop = session.subscribe(() => {
      const state = session.getState();
      seen.push(state.status === "signed-in" ? "in" : state.reason);
    });
    session.start({ access: "a", refresh: "r" });
    session.end("deleted");
    stop();

    expect(seen).toEqual(["in", "deleted"]);
  });
});
