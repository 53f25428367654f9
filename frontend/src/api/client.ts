// The typed API client: openapi-fetch over the generated paths, plus the
// console's rules for every request: base URL, Accept-Language, the Bearer
// token, and one silent refresh-and-retry when the access token has expired
// (401 token_not_valid). A refusal that no refresh can cure (revoked, disabled,
// refresh expired) ends the session.
import createClient from "openapi-fetch";

import { apiBase, languageHeader } from "./base";
import { ApiError, errorCodeOf, networkError, parseErrors, retryAfterOf } from "./errors";
import { session } from "./session";
import type { paths } from "./types";

const SESSION_OVER = new Set(["token_revoked", "user_inactive", "user_not_found"]);

function withToken(request: Request, token: string | null): Request {
  const next = new Request(request);
  if (token) next.headers.set("Authorization", `Bearer ${token}`);
  for (const [name, value] of Object.entries(languageHeader())) next.headers.set(name, value);
  return next;
}

/** fetch with the session's token; refreshes and retries once on an expired token. */
export async function authFetch(request: Request): Promise<Response> {
  const spare = request.clone();
  let token = session.accessToken;
  if (!token && session.isSignedIn) token = await session.refresh();
  const response = await fetch(withToken(request, token));
  if (response.status !== 401 || !session.isSignedIn) return response;
  const code = await errorCodeOf(response);
  if (code && SESSION_OVER.has(code)) {
    session.end("expired");
    return response;
  }
  if (code !== "token_not_valid" && code !== "not_authenticated") return response;
  const fresh = await session.refresh();
  if (!fresh) return response;
  return fetch(withToken(spare, fresh));
}

export const api = createClient<paths>({ baseUrl: apiBase, fetch: authFetch });

interface Result<T> {
  data?: T;
  error?: unknown;
  response: Response;
}

/** The data of a successful call, or an ApiError in the contract's terms. */
export async function unwrap<T>(call: Promise<Result<T>>): Promise<T> {
  let result: Result<T>;
  try {
    result = await call;
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw networkError();
  }
  if (result.response.ok) return result.data as T;
  throw new ApiError(
    result.response.status,
    parseErrors(result.error),
    retryAfterOf(result.response),
  );
}
