// Live task updates: GET /api/tasks/events, a text/event-stream read with fetch
// (EventSource cannot send the Bearer header). Each ``task`` event carries the
// task JSON; its ``id`` goes back as Last-Event-ID on reconnection so no change
// is missed. When the server does not offer the stream (404/405/501, or not an
// event stream), ``onUnavailable`` tells the caller to poll instead.
import { createParser } from "eventsource-parser";

import { apiBase, languageHeader } from "./base";
import { errorCodeOf } from "./errors";
import { session } from "./session";
import type { Task } from "./types";

export interface TaskEventsHandlers {
  onTask: (task: Task) => void;
  /** The stream is open (true) or dropped and being retried (false). */
  onConnected?: (connected: boolean) => void;
  /** The server has no event stream: poll. */
  onUnavailable: () => void;
}

export interface TaskEvents {
  close: () => void;
}

const MAX_FAILURES = 5;

export function openTaskEvents(handlers: TaskEventsHandlers): TaskEvents {
  const controller = new AbortController();
  let lastEventId: string | null = null;
  let failures = 0;
  const state: { closed: boolean } = { closed: false };
  const isClosed = (): boolean => state.closed;

  const connect = async (): Promise<void> => {
    while (!state.closed) {
      const outcome = await readOnce();
      if (isClosed() || outcome === "unavailable") return;
      handlers.onConnected?.(false);
      failures = outcome === "ended" ? 0 : failures + 1;
      if (failures >= MAX_FAILURES) {
        handlers.onUnavailable();
        return;
      }
      await sleep(Math.min(30_000, 2_000 * 2 ** failures), controller.signal);
    }
  };

  const readOnce = async (): Promise<"unavailable" | "ended" | "failed"> => {
    let token = session.accessToken ?? (await session.refresh());
    if (!token) return "unavailable";
    let response: Response;
    try {
      response = await request(token);
      if (response.status === 401 && (await errorCodeOf(response)) === "token_not_valid") {
        token = await session.refresh();
        if (!token) return "unavailable";
        response = await request(token);
      }
    } catch {
      return state.closed ? "ended" : "failed";
    }
    const type = response.headers.get("Content-Type") ?? "";
    if (
      [404, 405, 501].includes(response.status) ||
      (response.ok && !type.includes("text/event-stream"))
    ) {
      handlers.onUnavailable();
      return "unavailable";
    }
    if (!response.ok || !response.body) {
      if (response.status === 401) return "unavailable";
      return "failed";
    }
    handlers.onConnected?.(true);
    const parser = createParser({
      onEvent(event) {
        if (event.id) lastEventId = event.id;
        if (event.event !== "task") return;
        try {
          handlers.onTask(JSON.parse(event.data) as Task);
        } catch {
          // A malformed event is skipped; the next one or a refetch corrects it.
        }
      },
    });
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return "ended";
        parser.feed(value);
      }
    } catch {
      return state.closed ? "ended" : "failed";
    }
  };

  const request = (token: string): Promise<Response> => {
    const headers: Record<string, string> = {
      ...languageHeader(),
      Accept: "text/event-stream",
      Authorization: `Bearer ${token}`,
    };
    if (lastEventId) headers["Last-Event-ID"] = lastEventId;
    return fetch(`${apiBase}/api/tasks/events`, {
      headers,
      signal: controller.signal,
      cache: "no-store",
    });
  };

  void connect();
  return {
    close() {
      state.closed = true;
      controller.abort();
    },
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener("abort", () => {
      clearTimeout(timer);
      resolve();
    });
  });
}
