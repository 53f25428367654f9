// "Sign in with Google / WeChat": the provider's authorization page sends the
// browser back to /auth/<provider>/callback with a code, which the API turns
// into tokens. ``state`` (kept for this tab) ties the answer to this request.
const STATE_KEY = "animate.oauth";

export type Provider = "google" | "wechat";

interface Pending {
  provider: Provider;
  state: string;
  next: string;
}

export function callbackUrl(provider: Provider): string {
  return `${window.location.origin}/auth/${provider}/callback`;
}

function randomState(): string {
  const bytes = new Uint8Array(16);
  crypto.getRandomValues(bytes);
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

export function authorizeUrl(provider: Provider, clientId: string, state: string): string {
  const redirect = callbackUrl(provider);
  if (provider === "google") {
    const query = new URLSearchParams({
      client_id: clientId,
      redirect_uri: redirect,
      response_type: "code",
      scope: "openid email profile",
      state,
      prompt: "select_account",
    });
    return `https://accounts.google.com/o/oauth2/v2/auth?${query.toString()}`;
  }
  const query = new URLSearchParams({
    appid: clientId,
    redirect_uri: redirect,
    response_type: "code",
    scope: "snsapi_login",
    state,
  });
  return `https://open.weixin.qq.com/connect/qrconnect?${query.toString()}#wechat_redirect`;
}

/** Go to the provider's page; ``next`` is where to land after signing in. */
export function startSocialSignIn(provider: Provider, clientId: string, next: string): void {
  const state = randomState();
  const pending: Pending = { provider, state, next };
  sessionStorage.setItem(STATE_KEY, JSON.stringify(pending));
  window.location.assign(authorizeUrl(provider, clientId, state));
}

/** The pending sign-in this callback answers, or null if it answers none of ours. */
export function takePending(provider: Provider, state: string | null): Pending | null {
  const raw = sessionStorage.getItem(STATE_KEY);
  sessionStorage.removeItem(STATE_KEY);
  if (!raw || !state) return null;
  try {
    const pending = JSON.parse(raw) as Pending;
    return pending.provider === provider && pending.state === state ? pending : null;
  } catch {
    return null;
  }
}
