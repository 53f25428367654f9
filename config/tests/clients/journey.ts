// The whole user journey through openapi-fetch and the types openapi-typescript
// generates from /api/schema, with the error cases a client switches on. It must
// type-check under `tsc --strict` with no cast and no `any` (check_no_casts.mjs),
// and it runs against a live server: any failed check rejects, and node exits 1.
//
// settings.ts is written by the test: the server, this run's account, the media.
import createClient from "openapi-fetch";
import type { components, paths } from "./schema";
import { BASE_URL, EMAIL, IMAGE, MAILBOX, PASSWORD, VIDEO } from "./settings.js";

type ApiError = components["schemas"]["Error"];
type ErrorDetail = components["schemas"]["ErrorDetail"];

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(`journey: ${message}`);
}

/** The one error a failed call answered with, after checking its status and code. */
function failure(
  error: ApiError | undefined,
  response: Response,
  status: number,
  code: string,
): ErrorDetail {
  check(response.status === status, `${code}: status ${response.status}, not ${status}`);
  check(error !== undefined, `${code}: no error body`);
  const first = error.errors[0];
  check(first !== undefined, `${code}: an empty error list`);
  check(first.code === code, `expected ${code}, got ${first.code}`);
  return first;
}

function bytes(base64: string): Uint8Array<ArrayBuffer> {
  const raw = atob(base64);
  const out = new Uint8Array(raw.length);
  for (let n = 0; n < raw.length; n += 1) out[n] = raw.charCodeAt(n);
  return out;
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const seen: string[] = [];

const anonymous = createClient<paths>({ baseUrl: BASE_URL });

// What this deployment offers
const config = await anonymous.GET("/api/config");
check(config.data !== undefined, "config");
check(config.data.sign_in.password, "password sign-in is offered");
const moveStd = config.data.modes.find((m) => m.type === "move" && m.mode === "wan-std");
check(moveStd !== undefined, "move wan-std is offered");

// Register, sign in, who am I
const registered = await anonymous.POST("/api/auth/register", {
  body: { email: EMAIL, password: PASSWORD, display_name: "TypeScript journey" },
});
check(registered.response.status === 201 && registered.data !== undefined, "register");
check(registered.data.user.avatar_url === null, "no avatar yet");
// The sign-up credits come with a verified address: read the email, send its key
const letter = await fetch(`${MAILBOX}/key?to=${encodeURIComponent(EMAIL)}`);
check(letter.ok, "a verification email");
const verified = await anonymous.POST("/api/auth/email/verify", {
  body: { key: await letter.text() },
});
check(verified.response.status === 204, `verify: ${verified.response.status}`);

const signedIn = await anonymous.POST("/api/auth/login", {
  body: { email: EMAIL, password: PASSWORD },
});
check(signedIn.data !== undefined, "login");
const api = createClient<paths>({
  baseUrl: BASE_URL,
  headers: { Authorization: `Bearer ${signedIn.data.access}` },
});
const me = await api.GET("/api/auth/me");
check(me.data !== undefined && me.data.email === EMAIL && me.data.email_verified, "me");

// Upload the image and the video: multipart, the file a Blob
function upload(kind: "image" | "video", content: Uint8Array<ArrayBuffer>, name: string) {
  return api.POST("/api/videos/upload", {
    body: { file: new Blob([content]), kind },
    bodySerializer(body) {
      const form = new FormData();
      form.append("file", body.file, name);
      form.append("kind", body.kind);
      return form;
    },
  });
}
const image = await upload("image", bytes(IMAGE), "me.jpg");
check(image.response.status === 201 && image.data !== undefined, "image upload");
const video = await upload("video", bytes(VIDEO), "move.mp4");
check(video.data !== undefined && video.data.duration !== null, "video upload");

// What it would cost, then animate-move with an Idempotency-Key (a repeat is the same task)
const quote = await api.POST("/api/videos/quote", {
  body: { video_id: video.data.id, mode: "wan-std", type: "move" },
});
check(quote.data !== undefined && quote.data.credits > 0, "quote");
const credits = quote.data.credits;
check(quote.data.available >= credits, "enough credits for one job");

const job: components["schemas"]["AnimateRequestRequest"] = {
  image_id: image.data.id,
  video_id: video.data.id,
  mode: "wan-std",
};
const key = { "Idempotency-Key": `ts-journey-${EMAIL}` };
const created = await api.POST("/api/videos/animate-move", {
  body: job,
  params: { header: key },
});
check(created.response.status === 202 && created.data !== undefined, "animate-move");
check(created.data.credits.reserved === credits, "the quote is what was reserved");
const repeated = await api.POST("/api/videos/animate-move", {
  body: job,
  params: { header: key },
});
check(repeated.data?.id === created.data.id, "the same key gives the same task");
const taskId = created.data.id;

// 402: a second job (another key) while the first holds every credit
const broke = await api.POST("/api/videos/animate-move", {
  body: job,
  params: { header: { "Idempotency-Key": `ts-journey-2-${EMAIL}` } },
});
const short = failure(broke.error, broke.response, 402, "insufficient_credits");
check(short.needed === credits && short.available === 0, "402 says what is needed");
seen.push(short.code);

// Poll to succeeded
let task = created.data;
for (let n = 0; n < 600 && task.status !== "succeeded"; n += 1) {
  check(task.status !== "failed" && task.status !== "canceled", `task ${task.status}`);
  await sleep(100);
  const polled = await api.GET("/api/tasks/{task_id}", { params: { path: { task_id: taskId } } });
  check(polled.data !== undefined, "poll");
  task = polled.data;
}
check(task.status === "succeeded", "the task succeeded");
check(task.result !== null && task.result.url.startsWith("http"), "a result to play");
check(task.error === null && task.credits.charged > 0, "charged, no error");

// List, credits and their history, packages
const list = await api.GET("/api/tasks/user/tasks", { params: { query: { status: "succeeded" } } });
check(list.data !== undefined && list.data.count === 1, "one succeeded task");
check(list.data.results[0]?.id === taskId, "it is ours");
const balance = await api.GET("/api/users/credits");
check(balance.data !== undefined && balance.data.reserved === 0, "nothing left reserved");
const history = await api.GET("/api/users/credits/history", {
  params: { query: { page_size: 100 } },
});
check(history.data !== undefined, "history");
check(
  history.data.results.some((e) => e.kind === "capture" && e.amount === -task.credits.charged),
  "the charge is in the history",
);
const packages = await anonymous.GET("/api/payments/packages");
check(packages.data !== undefined && packages.data.length > 0, "packages");
const pack = packages.data[0];
check(pack !== undefined, "a package");

// Payment create: Stripe (the deployment's simulator). The customer presses "Pay"
// on the checkout page; the simulator's signed webhook grants the credits.
const payment = await api.POST("/api/payments/stripe/create", {
  body: { package_id: pack.id },
  params: { header: { "Idempotency-Key": `ts-pay-${EMAIL}` } },
});
check(payment.response.status === 201 && payment.data !== undefined, "stripe create");
const checkoutUrl = payment.data.checkout_url;
check(checkoutUrl !== null, "somewhere to pay");
// Pay answers with a redirect to the console's return page; a browser follows it.
const pressed = await fetch(`${checkoutUrl}/pay`, { method: "POST", redirect: "manual" });
check(pressed.status === 303 || pressed.ok, "pressing Pay");
let paid = false;
for (let n = 0; n < 150 && !paid; n += 1) {
  const seenPayment = await api.GET("/api/payments/{payment_id}", {
    params: { path: { payment_id: payment.data.id } },
  });
  check(seenPayment.data !== undefined, "the payment");
  paid = seenPayment.data.status === "paid";
  if (!paid) await sleep(100);
}
check(paid, "the payment was settled by its webhook");
// WeChat Pay is not configured in this deployment: 503, in the error model
const wechat = await api.POST("/api/payments/wechat/create", {
  body: { package_id: pack.id, trade_type: "native" },
});
seen.push(failure(wechat.error, wechat.response, 503, "payment_provider_not_configured").code);
const payments = await api.GET("/api/payments");
check(payments.data !== undefined, "payments list");

// The errors a client switches on: each parses into the error model
const garbage = createClient<paths>({
  baseUrl: BASE_URL,
  headers: { Authorization: "Bearer not-a-token" },
});
const unauthorized = await garbage.GET("/api/auth/me");
seen.push(failure(unauthorized.error, unauthorized.response, 401, "token_not_valid").code);

const wrong = await anonymous.POST("/api/auth/login", {
  body: { email: EMAIL, password: `${PASSWORD}-wrong` },
});
seen.push(failure(wrong.error, wrong.response, 400, "invalid_credentials").code);

const missing = await api.GET("/api/tasks/{task_id}", {
  params: { path: { task_id: "00000000-0000-4000-8000-000000000000" } },
});
seen.push(failure(missing.error, missing.response, 404, "not_found").code);

const conflict = await api.DELETE("/api/tasks/{task_id}", {
  params: { path: { task_id: taskId } },
});
const notCancelable = failure(conflict.error, conflict.response, 409, "task_not_cancelable");
check(notCancelable.status === "succeeded", "409 says the state");
seen.push(notCancelable.code);

const huge = await upload("video", new Uint8Array(1_200_000), "huge.mp4");
const tooLarge = failure(huge.error, huge.response, 413, "file_too_large");
check(typeof tooLarge.max_bytes === "number", "413 says the limit");
seen.push(tooLarge.code);

const text = await upload("image", new TextEncoder().encode("not a picture"), "me.jpg");
const unsupported = failure(text.error, text.response, 415, "unsupported_media");
check(unsupported.attr === "file", "415 names the field");
seen.push(unsupported.code);

// Account delete, with the password in the body; the token dies with the account
const erased = await api.DELETE("/api/users/account", { body: { password: PASSWORD } });
check(erased.response.status === 204, `account delete: ${erased.response.status}`);
const after = await api.GET("/api/auth/me");
check(after.response.status === 401 && after.error !== undefined, "the token is dead");
seen.push(after.error.errors[0]?.code ?? "");

// Failed sign-ins are throttled (last: it locks this address out for minutes)
let throttled: ErrorDetail | undefined;
for (let n = 0; n < 15 && throttled === undefined; n += 1) {
  const attempt = await anonymous.POST("/api/auth/login", {
    body: { email: `nobody-${n % 2}-${EMAIL}`, password: "wrong-password-1" },
  });
  if (attempt.response.status === 429) {
    throttled = failure(attempt.error, attempt.response, 429, "throttled");
    check(Number(attempt.response.headers.get("Retry-After")) > 0, "429 says when");
  } else {
    failure(attempt.error, attempt.response, 400, "invalid_credentials");
  }
}
check(throttled !== undefined, "failed sign-ins are throttled");
seen.push(throttled.code);

console.log(JSON.stringify({ task: taskId, seen }));
