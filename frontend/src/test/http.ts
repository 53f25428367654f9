// A stand-in for the network in unit tests: answers by method and path, and
// records what was asked. (Browser journeys against the real platform are in
// frontend/e2e.)
import { vi } from "vitest";

export interface Call {
  method: string;
  path: string;
  headers: Headers;
  body: string;
}

type Answer = Response | ((call: Call) => Response | Promise<Response>);

export function json(
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): Response {
  return new Response(body === undefined ? null : JSON.stringify(body), {
    status,
    headers: { "Content-Type": "application/json", ...headers },
  });
}

export function error(status: number, code: string, attr: string | null = null): Response {
  return json(status, {
    type: "client_error",
    errors: [{ code, detail: `detail of ${code}`, attr }],
  });
}

export function fakeNetwork(routes: Record<string, Answer | Answer[]>) {
  const calls: Call[] = [];
  const queues = new Map(
    Object.entries(routes).map(([k, v]) => [k, Array.isArray(v) ? [...v] : [v]]),
  );
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const request = input instanceof Request ? input : new Request(String(input), init);
    const url = new URL(request.url, "http://console.test");
    const call: Call = {
      method: request.method,
      path: url.pathname + url.search,
      headers: request.headers,
      body: await request.clone().text(),
    };
    calls.push(call);
    const key = `${call.method} ${url.pathname}`;
    const queue = queues.get(key);
    if (!queue?.length) return error(404, "not_found");
    const answer = queue.length > 1 ? queue.shift() : queue[0];
    if (answer === undefined) return error(404, "not_found");
    return typeof answer === "function" ? answer(call) : answer.clone();
  });
  vi.stubGlobal("fetch", fetch);
  return { calls, fetch };
}
