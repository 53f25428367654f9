import { describe, expect, it } from "vitest";

import { IMAGE_LIMITS, mediaProblems, VIDEO_LIMITS } from "./mediaChecks";

const codes = (items: { code: string }[]) => items.map((i) => i.code);

describe("the console's own look at a file", () => {
  it("passes a picture inside DashScope's limits", () => {
    const facts = { type: "image/png", size: 300_000, width: 480, height: 640 };
    expect(mediaProblems(facts, IMAGE_LIMITS, "image")).toEqual([]);
  });

  it("names each problem with the server's own code", () => {
    expect(
      codes(
        mediaProblems(
          { type: "image/gif", size: 10, width: 500, height: 500 },
          IMAGE_LIMITS,
          "image",
        ),
      ),
    ).toEqual(["unsupported_media"]);
    expect(
      codes(
        mediaProblems(
          { type: "image/jpeg", size: 6 * 1048576, width: 100, height: 400 },
          IMAGE_LIMITS,
          "image",
        ),
      ),
    ).toEqual(["file_too_large", "image_too_small", "invalid_aspect_ratio"]);
    expect(
      codes(
        mediaProblems(
          { type: "image/webp", size: 10, width: 5000, height: 4000 },
          IMAGE_LIMITS,
          "image",
        ),
      ),
    ).toEqual(["image_too_large"]);
  });

  it("checks a video's length and sides", () => {
    const video = { type: "video/mp4", size: 1_000_000, width: 480, height: 360 };
    expect(mediaProblems({ ...video, duration: 1.5 }, VIDEO_LIMITS, "video")).toMatchObject([
      { code: "media_too_short", attr: "video", extra: { duration: 1.5 } },
    ]);
    expect(codes(mediaProblems({ ...video, duration: 31 }, VIDEO_LIMITS, "video"))).toEqual([
      "media_too_long",
    ]);
    expect(
      codes(
        mediaProblems({ ...video, width: 3000, height: 2000, duration: 5 }, VIDEO_LIMITS, "video"),
      ),
    ).toEqual(["invalid_dimensions"]);
    // AVI as some browsers name it.
    expect(
      mediaProblems({ ...video, type: "video/avi", duration: 5 }, VIDEO_LIMITS, "video"),
    ).toEqual([]);
  });

  it("leaves what the browser cannot read to the server", () => {
    expect(mediaProblems({ type: "video/quicktime", size: 10 }, VIDEO_LIMITS, "video")).toEqual([]);
  });
});
