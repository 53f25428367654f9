// Polling when there is no live stream: never faster than every 2 s, slower
// while nothing changes (x1.5 per unchanged answer, at most 30 s), back to 2 s
// when the task moves on; the caller stops it for finished tasks and hidden tabs.
import type { TaskStatus } from "../api/types";

export const MIN_POLL_MS = 2_000;
export const MAX_POLL_MS = 30_000;
const FACTOR = 1.5;

export const FINAL_STATUSES: readonly TaskStatus[] = ["succeeded", "failed", "canceled"];

export function isFinal(status: TaskStatus): boolean {
  return FINAL_STATUSES.includes(status);
}

export class PollBackoff {
  private delay = MIN_POLL_MS;
  private last: string | null = null;

  /** The wait before the next poll, given what the last answer said. */
  next(state: string): number {
    if (state !== this.last) {
      this.last = state;
      this.delay = MIN_POLL_MS;
    } else {
      this.delay = Math.min(MAX_POLL_MS, Math.round(this.delay * FACTOR));
    }
    return this.delay;
  }
}

/** The delay to use given an estimated finish: no later than ~1 s after it. */
export function pollDelay(
  backoff: number,
  estimatedFinish: string | null,
  now = Date.now(),
): number {
  if (!estimatedFinish) return backoff;
  const until = Date.parse(estimatedFinish) - now + 1_000;
  if (!Number.isFinite(until) || until <= 0) return backoff;
  return Math.max(MIN_POLL_MS, Math.min(backoff, until));
}
