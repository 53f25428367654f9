// The contract's error shape, read from any failed response:
//   {"type": ..., "errors": [{"code", "detail", "attr", ...extra}]}
// A client switches on ``code`` (an open set: an unknown code falls back to the
// server's ``detail``); ``attr`` names the field a validation error is about.

export interface ErrorItem {
  code: string;
  detail: string;
  attr: string | null;
  /** Extra members some errors carry (needed/available, max_bytes, ...). */
  extra: Record<string, unknown>;
}

export class ApiError extends Error {
  readonly status: number;
  readonly errors: ErrorItem[];
  readonly retryAfter: number | null;

  constructor(status: number, errors: ErrorItem[], retryAfter: number | null = null) {
    super(errors[0]?.detail ?? `HTTP ${status}`);
    this.name = "ApiError";
    this.status = status;
    this.errors = errors.length
      ? errors
      : [{ code: codeForStatus(status), detail: "", attr: null, extra: {} }];
    this.retryAfter = retryAfter;
  }

  /** The first error's code. */
  get code(): string {
    return this.errors[0]?.code ?? "error";
  }

  /** Errors about one field ("non_field_errors" and null are the form's own). */
  forField(attr: string): ErrorItem[] {
    return this.errors.filter((e) => e.attr === attr);
  }

  /** Errors no field of ``fields`` shows, so the form shows them itself. */
  general(fields: readonly string[] = []): ErrorItem[] {
    return this.errors.filter((e) => e.attr === null || !fields.includes(e.attr));
  }
}

function codeForStatus(status: number): string {
  if (status === 0) return "network_error";
  if (status === 401) return "not_authenticated";
  if (status === 404) return "not_found";
  if (status === 413) return "file_too_large";
  if (status === 429) return "throttled";
  if (status >= 500) return "server_error";
  return "error";
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/** The error items of a response body, whatever it holds. */
export function parseErrors(body: unknown): ErrorItem[] {
  if (!isRecord(body) || !Array.isArray(body.errors)) return [];
  return body.errors.filter(isRecord).map((item) => {
    const { code, detail, attr, ...extra } = item;
    return {
      code: typeof code === "string" ? code : "error",
      detail: typeof detail === "string" ? detail : "",
      attr: typeof attr === "string" ? attr : null,
      extra,
    };
  });
}

export function retryAfterOf(response: Response): number | null {
  const value = Number(response.headers.get("Retry-After"));
  return Number.isFinite(value) && value > 0 ? value : null;
}

/** The first error code of a failed response, read from a clone. */
export async function errorCodeOf(response: Response): Promise<string | null> {
  try {
    return parseErrors(await response.clone().json())[0]?.code ?? null;
  } catch {
    return null;
  }
}

export function networkError(): ApiError {
  return new ApiError(0, [{ code: "network_error", detail: "", attr: null, extra: {} }]);
}
