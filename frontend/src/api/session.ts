// The signed-in session. The access token lives in memory only; the refresh
// token is kept in localStorage so a reload stays signed in, and is rotated on
// every refresh (the server blacklists the old one). Refreshes are serialised:
// one in flight per tab, and across tabs through the Web Locks API, so two tabs
// never spend the same refresh token.
import createClient from "openapi-fetch";

import { apiBase, languageHeader } from "./base";
import type { paths, TokenPair } from "./types";

const REFRESH_KEY = "animate.refresh";

export type SessionState =
  { status: "signed-in" } | { status: "signed-out"; reason: "none" | EndReason };

/** Why a session ended, which the sign-in page says. */
export type EndReason = "signed-out" | "expired" | "deleted";

type Listener = () => void;

// A client without the session's retry logic, so a refresh never recurses.
const bare = createClient<paths>({ baseUrl: apiBase, fetch: (request) => fetch(request) });

function readStorage(): string | null {
  try {
    return localStorage.getItem(REFRESH_KEY);
  } catch {
    return null;
  }
}

function writeStorage(value: string | null): void {
  try {
    if (value === null) localStorage.removeItem(REFRESH_KEY);
    else localStorage.setItem(REFRESH_KEY, value);
  } catch {
    // Storage refused (private mode): the session lasts as long as the tab.
  }
}

class Session {
  private access: string | null = null;
  private refreshToken: string | null = readStorage();
  private inFlight: Promise<string | null> | null = null;
  private listeners = new Set<Listener>();
  private state: SessionState = this.refreshToken
    ? { status: "signed-in" }
    : { status: "signed-out", reason: "none" };

  constructor() {
    if (typeof window !== "undefined") {
      // Another tab signed in, out, or rotated the token.
      window.addEventListener("storage", (event) => {
        if (event.key !== REFRESH_KEY) return;
        this.refreshToken = event.newValue;
        if (event.newValue === null) {
          this.access = null;
          this.setState({ status: "signed-out", reason: "signed-out" });
        } else if (this.state.status !== "signed-in") {
          this.setState({ status: "signed-in" });
        }
      });
    }
  }

  getState = (): SessionState => this.state;

  subscribe = (listener: Listener): (() => void) => {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  };

  get accessToken(): string | null {
    return this.access;
  }

  get isSignedIn(): boolean {
    return this.state.status === "signed-in";
  }

  /** Keep the tokens of a sign-in (or a refresh). */
  start(tokens: TokenPair): void {
    this.access = tokens.access;
    this.refreshToken = tokens.refresh;
    writeStorage(tokens.refresh);
    this.setState({ status: "signed-in" });
  }

  /** Forget the tokens; ``reason`` tells the sign-in page what to say. */
  end(reason: EndReason): void {
    this.access = null;
    this.refreshToken = null;
    writeStorage(null);
    this.inFlight = null;
    this.setState({ status: "signed-out", reason });
  }

  /** The refresh token, for signing out (the server blacklists it). */
  get currentRefresh(): string | null {
    return this.refreshToken;
  }

  /** A fresh access token, or null when the session cannot be renewed (it ends). */
  refresh(): Promise<string | null> {
    this.inFlight ??= this.refreshSerially().finally(() => {
      this.inFlight = null;
    });
    return this.inFlight;
  }

  private async refreshSerially(): Promise<string | null> {
    const locks = typeof navigator !== "undefined" ? navigator.locks : undefined;
    if (locks) return locks.request("animate-refresh", () => this.refreshOnce());
    return this.refreshOnce();
  }

  private async refreshOnce(): Promise<string | null> {
    // Another tab may have rotated the token while this one waited for the lock.
    const refresh = readStorage() ?? this.refreshToken;
    if (!refresh) {
      if (this.state.status === "signed-in") this.end("expired");
      return null;
    }
    let result;
    try {
      result = await bare.POST("/api/auth/refresh", {
        body: { refresh },
        headers: languageHeader(),
      });
    } catch {
      return null; // offline: keep the session, the request fails as a network error
    }
    if (result.data) {
      this.start(result.data);
      return result.data.access;
    }
    if (result.response.status === 401 || result.response.status === 400) {
      this.end("expired");
    }
    return null;
  }

  private setState(state: SessionState): void {
    this.state = state;
    for (const listener of this.listeners) listener();
  }
}

export const session = new Session();
