import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";

import { session } from "../api/session";
import { makeQueryClient } from "../app/App";
import { routes } from "../app/routes";
import { error, fakeNetwork, json } from "../test/http";

const ID = "6f1c1e0e-1111-4222-8333-944445555666";

function task(overrides: Record<string, unknown>) {
  return {
    id: ID,
    type: "move",
    model: "wan2.2-animate-move",
    mode: "wan-std",
    status: "queued",
    image: null,
    video: null,
    result: null,
    credits: { reserved: 12, charged: 0, refunded: 0 },
    error: null,
    attempts: 1,
    created_at: "2026-01-01T00:00:00Z",
    started_at: null,
    finished_at: null,
    estimated_finish_at: null,
    ...overrides,
  };
}

const BASE = {
  "GET /api/config": error(404, "not_found"),
  "GET /api/auth/me": json(200, {
    id: "u",
    email: "a@example.com",
    locale: "en",
    email_verified: true,
    providers: [],
  }),
  "GET /api/users/credits": json(200, { balance: 100, reserved: 12, available: 88, recent: [] }),
  "GET /api/tasks/events": error(404, "not_found"),
};

function renderTask() {
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <RouterProvider router={createMemoryRouter(routes, { initialEntries: [`/tasks/${ID}`] })} />
    </QueryClientProvider>,
  );
}

beforeEach(() => session.start({ access: "a", refresh: "r" }));
afterEach(() => {
  vi.unstubAllGlobals();
  vi.useRealTimers();
  session.end("signed-out");
});

describe("the task page", () => {
  it("counts down to the estimated finish and cancels a task the provider has not started", async () => {
    const soon = new Date(Date.now() + 65_000).toISOString();
    const { calls } = fakeNetwork({
      ...BASE,
      [`GET /api/tasks/${ID}`]: json(200, task({ status: "submitted", estimated_finish_at: soon })),
      [`DELETE /api/tasks/${ID}`]: json(
        200,
        task({ status: "canceled", credits: { reserved: 12, charged: 0, refunded: 12 } }),
      ),
    });
    renderTask();

    expect(await screen.findByRole("timer")).toHaveTextContent(/About 1:0\d left/);
    await userEvent.click(screen.getByRole("button", { name: "Cancel" }));

    expect(await screen.findByText("Canceled")).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Cancel" })).not.toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Try again" })).toBeInTheDocument();
    expect(calls.some((c) => c.method === "DELETE")).toBe(true);
  });

  it("says why a task could not be canceled any more", async () => {
    fakeNetwork({
      ...BASE,
      [`GET /api/tasks/${ID}`]: json(200, task({ status: "submitted" })),
      [`DELETE /api/tasks/${ID}`]: error(409, "task_not_cancelable"),
    });
    renderTask();

    await userEvent.click(await screen.findByRole("button", { name: "Cancel" }));

    expect(await screen.findByRole("alert")).toHaveTextContent("it can no longer be canceled");
  });

  it("retries a failed task once per press, with an idempotency key, and explains the failure", async () => {
    const { calls } = fakeNetwork({
      ...BASE,
      [`GET /api/tasks/${ID}`]: json(
        200,
        task({
          status: "failed",
          error: { code: "provider_error", message: "The provider failed." },
        }),
      ),
      [`POST /api/tasks/${ID}/retry`]: error(402, "insufficient_credits"),
    });
    renderTask();

    expect(await screen.findByText("The provider failed.")).toBeInTheDocument();
    await userEvent.click(screen.getByRole("button", { name: "Try again" }));

    const refusal = await screen.findByRole("alert");
    expect(refusal).toHaveTextContent("Not enough credits");
    expect(screen.getByRole("link", { name: "Buy credits" })).toHaveAttribute("href", "/credits");
    const retry = calls.find((c) => c.method === "POST");
    expect(retry?.headers.get("Idempotency-Key")).toMatch(/^[0-9a-f-]{36}$/);
  });
});
