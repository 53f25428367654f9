import { QueryClientProvider } from "@tanstack/react-query";
import { render, screen } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { createMemoryRouter, RouterProvider } from "react-router";
import { afterEach, describe, expect, it, vi } from "vitest";

import { session } from "../api/session";
import { makeQueryClient } from "../app/App";
import { routes } from "../app/routes";
import { error, fakeNetwork, json } from "../test/http";

const CONFIG = {
  region: "global",
  sign_in: { password: true, google: null, wechat: null },
  payments: { stripe: null, wechat: null },
  limits: {},
  modes: [],
  signup_bonus: 100,
};

function renderAt(path: string) {
  const router = createMemoryRouter(routes, { initialEntries: [path] });
  render(
    <QueryClientProvider client={makeQueryClient()}>
      <RouterProvider router={router} />
    </QueryClientProvider>,
  );
  return router;
}

afterEach(() => {
  vi.unstubAllGlobals();
  session.end("signed-out");
});

describe("the sign-in page", () => {
  it("offers Google and WeChat only when the platform has them", async () => {
    fakeNetwork({ "GET /api/config": json(200, CONFIG) });
    renderAt("/sign-in");
    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.queryByRole("button", { name: "Sign in with Google" })).not.toBeInTheDocument();

    vi.unstubAllGlobals();
    fakeNetwork({
      "GET /api/config": json(200, {
        ...CONFIG,
        sign_in: { password: true, google: { client_id: "g-id" }, wechat: { app_id: "wx-id" } },
      }),
    });
    renderAt("/sign-in");
    expect(await screen.findByRole("button", { name: "Sign in with Google" })).toBeInTheDocument();
    expect(screen.getByRole("button", { name: "Sign in with WeChat" })).toBeInTheDocument();
  });

  it("shows the server's refusal, translated, and marks nothing signed in", async () => {
    fakeNetwork({
      "GET /api/config": json(200, CONFIG),
      "POST /api/auth/login": error(400, "invalid_credentials"),
    });
    renderAt("/sign-in");
    const user = userEvent.setup();

    await user.type(await screen.findByLabelText("Email"), "a@example.com");
    await user.type(screen.getByLabelText("Password"), "wrong");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByRole("alert")).toHaveTextContent(
      "That email and password do not match an account.",
    );
    expect(session.getState().status).toBe("signed-out");
  });

  it("signs in and goes where the person was headed", async () => {
    fakeNetwork({
      "GET /api/config": json(200, CONFIG),
      "POST /api/auth/login": json(200, {
        access: "a",
        refresh: "r",
        user: {
          id: "u",
          email: "a@example.com",
          locale: "en",
          email_verified: true,
          providers: [],
        },
      }),
      "GET /api/users/credits": json(200, { balance: 5, reserved: 0, available: 5, recent: [] }),
      "GET /api/tasks/user/tasks": json(200, { count: 0, next: null, previous: null, results: [] }),
    });
    const router = renderAt("/sign-in?next=%2Ftasks");
    const user = userEvent.setup();

    await user.type(await screen.findByLabelText("Email"), "a@example.com");
    await user.type(screen.getByLabelText("Password"), "right");
    await user.click(screen.getByRole("button", { name: "Sign in" }));

    expect(await screen.findByRole("heading", { name: "Your animations" })).toBeInTheDocument();
    expect(router.state.location.pathname).toBe("/tasks");
    expect(localStorage.getItem("animate.refresh")).toBe("r");
  });

  it("sends a signed-out person from a console page to sign in, and says an expired session expired", async () => {
    fakeNetwork({ "GET /api/config": json(200, CONFIG) });
    session.end("expired");
    const router = renderAt("/credits");

    expect(await screen.findByRole("heading", { name: "Sign in" })).toBeInTheDocument();
    expect(screen.getByRole("status")).toHaveTextContent("Your session has expired.");
    expect(router.state.location.search).toBe("?next=%2Fcredits");
  });
});
