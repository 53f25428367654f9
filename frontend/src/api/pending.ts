// TRANSITIONAL: calls to endpoints the schema does not describe yet (issue 10
// adds them). Each caller moves to the typed ``api`` client once it does, and
// this file goes.
import { apiBase } from "./base";
import { authFetch } from "./client";
import { ApiError, networkError, parseErrors, retryAfterOf } from "./errors";

export async function callPending<T>(
  method: "GET" | "POST" | "DELETE",
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<T> {
  let response: Response;
  try {
    response = await authFetch(
      new Request(`${apiBase || window.location.origin}${path}`, {
        method,
        headers: {
          ...headers,
          ...(body === undefined ? {} : { "Content-Type": "application/json" }),
        },
        body: body === undefined ? null : JSON.stringify(body),
      }),
    );
  } catch {
    throw networkError();
  }
  const data: unknown =
    response.status === 204 ? undefined : await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, parseErrors(data), retryAfterOf(response));
  return data as T;
}
