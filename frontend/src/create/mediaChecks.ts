// The console's own look at a chosen file before it is uploaded: type, size,
// dimensions, duration and aspect ratio against the DashScope input limits.
// It only saves a pointless upload; the server reads the file itself and stays
// the judge (its errors are shown per field).
import type { ErrorItem } from "../api/errors";

export interface MediaLimits {
  types: readonly string[];
  maxBytes: number;
  minSide: number;
  maxSide: number;
  /** Longest side over shortest side, at most. */
  maxAspect: number;
  minSeconds?: number;
  maxSeconds?: number;
}

export const IMAGE_LIMITS: MediaLimits = {
  types: ["image/jpeg", "image/png", "image/bmp", "image/webp"],
  maxBytes: 5 * 1024 * 1024,
  minSide: 200,
  maxSide: 4096,
  maxAspect: 3,
};

export const VIDEO_LIMITS: MediaLimits = {
  types: ["video/mp4", "video/x-msvideo", "video/avi", "video/quicktime"],
  maxBytes: 200 * 1024 * 1024,
  minSide: 200,
  maxSide: 2048,
  maxAspect: 3,
  minSeconds: 2,
  maxSeconds: 30,
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
  if (facts.type && !limits.types.includes(facts.type)) {
    return [problem("unsupported_media", attr, { detected: facts.type })];
  }
  const problems: ErrorItem[] = [];
  if (facts.size > limits.maxBytes) {
    problems.push(
      problem("file_too_large", attr, { max_mb: Math.round(limits.maxBytes / 1048576) }),
    );
  }
  const { width, height, duration } = facts;
  if (width && height) {
    const short = Math.min(width, height);
    const long = Math.max(width, height);
    if (short < limits.minSide) {
      problems.push(problem("image_too_small", attr, { min: limits.minSide, width, height }));
    } else if (long > limits.maxSide) {
      problems.push(problem("image_too_large", attr, { max: limits.maxSide, width, height }));
    }
    if (long / short > limits.maxAspect) {
      problems.push(problem("invalid_aspect_ratio", attr, { width, height }));
    }
  }
  if (duration !== undefined && Number.isFinite(duration)) {
    if (limits.minSeconds !== undefined && duration < limits.minSeconds) {
      problems.push(problem("media_too_short", attr, { min: limits.minSeconds }));
    }
    if (limits.maxSeconds !== undefined && duration > limits.maxSeconds) {
      problems.push(problem("media_too_long", attr, { max: limits.maxSeconds }));
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
