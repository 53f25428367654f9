import { afterEach, describe, expect, it, vi } from "vitest";

import { error, fakeNetwork, json } from "../test/http";
import { api, unwrap } from "./client";
import { ApiError } from "./errors";
import { session } from "./session";

const USER = { id: "u1", email: "a@example.com" };

afterEach(() => {
  vi.unstubAllGlobals();
  session.end("signed-out");
});

describe("the API client", () => {
  it("renews an expired access token once and repeats the request", async () => {
    session.start({ access: "old-access", refresh: "refresh-1" });
    const { calls } = fakeNetwork({
      "GET /api/auth/me": [error(401, "token_not_valid"), json(200, USER)],
      "POST /api/auth/refresh": json(200, { access: "new-access", refresh: "refresh-2" }),
    });

    const me = await unwrap(api.GET("/api/auth/me"));

    expect(me).toEqual(USER);
    expect(calls.map((c) => `${c.method} ${c.path}`)).toEqual([
      "GET /api/auth/me",
      "POST /api/auth/refresh",
      "GET /api/auth/me",
    ]);
    expect(calls[0]?.headers.get("Authorization")).toBe("Bearer old-access");
    expect(JSON.parse(calls[1]?.body ?? "")).toEqual({ refresh: "refresh-1" });
    expect(calls[2]?.headers.get("Authorization")).toBe("Bearer new-access");
    // The rotated refresh token is the one kept.
    expect(localStorage.getItem("animate.refresh")).toBe("refresh-2");
    expect(session.getState()).toEqual({ status: "signed-in" });
  });

  it("ends the session when the refresh token no longer works", async () => {
    session.start({ access: "old-access", refresh: "revoked" });
    fakeNetwork({
      "GET /api/auth/me": error(401, "token_not_valid"),
      "POST /api/auth/refresh": error(401, "token_not_valid"),
    });

    await expect(unwrap(api.GET("/api/auth/me"))).rejects.toMatchObject({ status: 401 });

    expect(session.getState()).toEqual({ status: "signed-out", reason: "expired" });
    expect(localStorage.getItem("animate.refresh")).toBeNull();
  });

  it("ends the session at once when the account's tokens were revoked", async () => {
    session.start({ access: "access", refresh: "refresh" });
    const { calls } = fakeNetwork({ "GET /api/auth/me": error(401, "token_revoked") });

    await expect(unwrap(api.GET("/api/auth/me"))).rejects.toBeInstanceOf(ApiError);

    expect(calls).toHaveLength(1); // no refresh is tried
    expect(session.getState()).toEqual({ status: "signed-out", reason: "expired" });
  });

  it("gets an access token from the kept refresh token after a reload", async () => {
    localStorage.setItem("animate.refresh", "kept");
    session.start({ access: "", refresh: "kept" });
    const { calls } = fakeNetwork({
      "POST /api/auth/refresh": json(200, { access: "fresh", refresh: "kept-2" }),
      "GET /api/users/credits": json(200, { balance: 1, reserved: 0, available: 1, recent: [] }),
    });

    await unwrap(api.GET("/api/users/credits"));

    expect(calls.map((c) => c.path)).toEqual(["/api/auth/refresh", "/api/users/credits"]);
    expect(calls[1]?.headers.get("Authorization")).toBe("Bearer fresh");
  });

  it("sends the console's language and reads errors in the contract's shape", async () => {
    fakeNetwork({ "POST /api/auth/login": error(400, "invalid_credentials", null) });

    const failure = await unwrap(
      api.POST("/api/auth/login", { body: { email: "a@example.com", password: "x" } }),
    ).catch((e: unknown) => e);

    expect(failure).toBeInstanceOf(ApiError);
    expect((failure as ApiError).code).toBe("invalid_credentials");
    expect((failure as ApiError).status).toBe(400);
  });

  it("turns a network failure into a network_error", async () => {
    vi.stubGlobal(
      "fetch",
      vi.fn(() => Promise.reject(new TypeError("Failed to fetch"))),
    );

    await expect(unwrap(api.GET("/api/config"))).rejects.toMatchObject({
      status: 0,
      code: "network_error",
    });
  });
});
