import { afterEach, describe, expect, it, vi } from "vitest";

import { error, fakeNetwork } from "../test/http";
import { openTaskEvents } from "./events";
import { session } from "./session";

afterEach(() => {
  vi.unstubAllGlobals();
  session.end("signed-out");
});

function stream(chunks: string[]): Response {
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
      controller.close();
    },
  });
  return new Response(body, { status: 200, headers: { "Content-Type": "text/event-stream" } });
}

describe("live task updates", () => {
  it("reads task events from the stream with the Bearer token, and resumes from the last id", async () => {
    session.start({ access: "access", refresh: "refresh" });
    const task = { id: "t1", status: "running" };
    const { calls } = fakeNetwork({
      "GET /api/tasks/events": [
        stream([": keep-alive\n\n", "id: 7\nevent: task\nda", `ta: ${JSON.stringify(task)}\n\n`]),
        stream([]),
      ],
    });
    const seen: unknown[] = [];
    const events = openTaskEvents({
      onTask: (t) => seen.push(t),
      onUnavailable: () => seen.push("poll"),
    });

    await vi.waitFor(() => expect(calls.length).toBeGreaterThanOrEqual(2), { timeout: 5000 });
    events.close();

    expect(seen).toEqual([task]);
    expect(calls[0]?.headers.get("Authorization")).toBe("Bearer access");
    expect(calls[0]?.headers.get("Last-Event-ID")).toBeNull();
    expect(calls[1]?.headers.get("Last-Event-ID")).toBe("7");
  });

  it("says to poll when the server offers no stream", async () => {
    session.start({ access: "access", refresh: "refresh" });
    fakeNetwork({ "GET /api/tasks/events": error(404, "not_found") });
    const unavailable = vi.fn();

    openTaskEvents({ onTask: vi.fn(), onUnavailable: unavailable });

    await vi.waitFor(() => expect(unavailable).toHaveBeenCalledOnce());
  });
});
