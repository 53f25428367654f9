// The console's own look at a chosen file before it is uploaded: type, size,
// dimensions, duration and aspect ratio against the DashScope input limits.
// It only saves a pointless upload; the server reads the file itself and stays
// the judge (its errors are shown per field).
import type { ErrorItem } from "../api/errors";
import type { ImageLimits, VideoLimits } from "../api/types";

/** The server's limits (GET /api/config); a video's include its length. */
export type MediaLimits = ImageLimits & Partial<Pick<VideoLimits, "min_seconds" | "max_seconds">>;

// DashScope's documented limits, used until /api/config has answered.
export const IMAGE_LIMITS: ImageLimits = {
  content_types: ["image/jpeg", "image/png", "image/bmp", "image/webp"],
  max_bytes: 5 * 1024 * 1024,
  min_side: 200,
  max_side: 4096,
  max_aspect_ratio: 3,
};

export const VIDEO_LIMITS: VideoLimits = {
  content_types: ["video/mp4", "video/x-msvideo", "video/quicktime"],
  max_bytes: 200 * 1024 * 1024,
  min_side: 200,
  max_side: 2048,
  max_aspect_ratio: 3,
  min_seconds: 2,
  max_seconds: 30,
};

/** Browsers name some types differently from the server (AVI). */
const ALIASES: Record<string, string> = {
  "video/avi": "video/x-msvideo",
  "video/msvideo": "video/x-msvideo",
};

export interface MediaFacts {
  type: string;
  size: number;
  width?: number | undefined;
  height?: number | undefined;
  duration?: number | undefined;
}

function problem(code: string, attr: string, extra: Record<string, unknown> = {}): ErrorItem {
  return { code, detail: "", attr, extra };
}

/** What is wrong with a file, in the server's own codes (empty: looks fine). */
export function mediaProblems(facts: MediaFacts, limits: MediaLimits, attr: string): ErrorItem[] {
  const type = ALIASES[facts.type] ?? facts.type;
  if (type && !limits.content_types.includes(type)) {
    return [problem("unsupported_media", attr, { detected: facts.type })];
  }
  const problems: ErrorItem[] = [];
  if (facts.size > limits.max_bytes) {
    problems.push(
      problem("file_too_large", attr, { max_bytes: limits.max_bytes, size: facts.size }),
    );
  }
  const { width, height, duration } = facts;
  if (width && height) {
    const short = Math.min(width, height);
    const long = Math.max(width, height);
    const video = limits.min_seconds !== undefined;
    const tooSmall = video ? "invalid_dimensions" : "image_too_small";
    const tooLarge = video ? "invalid_dimensions" : "image_too_large";
    if (short < limits.min_side) {
      problems.push(problem(tooSmall, attr, { width, height }));
    } else if (long > limits.max_side) {
      problems.push(problem(tooLarge, attr, { width, height }));
    }
    if (long / short > limits.max_aspect_ratio) {
      problems.push(problem("invalid_aspect_ratio", attr, { width, height }));
    }
  }
  if (duration !== undefined && Number.isFinite(duration)) {
    if (limits.min_seconds !== undefined && duration < limits.min_seconds) {
      problems.push(problem("media_too_short", attr, { duration }));
    }
    if (limits.max_seconds !== undefined && duration > limits.max_seconds) {
      problems.push(problem("media_too_long", attr, { duration }));
    }
  }
  return problems;
}

/** Dimensions (and for a video, duration) as the browser reads them. */
export function readMedia(file: File, url: string): Promise<MediaFacts> {
  const base: MediaFacts = { type: file.type, size: file.size };
  if (file.type.startsWith("image/")) {
    return new Promise((resolve) => {
      const img = new Image();
      img.onload = () => resolve({ ...base, width: img.naturalWidth, height: img.naturalHeight });
      img.onerror = () => resolve(base);
      img.src = url;
    });
  }
  if (file.type.startsWith("video/")) {
    return new Promise((resolve) => {
      const video = document.createElement("video");
      video.preload = "metadata";
      video.muted = true;
      video.onloadedmetadata = () =>
        resolve({
          ...base,
          width: video.videoWidth,
          height: video.videoHeight,
          duration: video.duration,
        });
      video.onerror = () => resolve(base); // a container the browser cannot play: the server decides
      video.src = url;
    });
  }
  return Promise.resolve(base);
}
