import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";
import type { TaskMode, TaskType } from "../api/types";
import { taskKey } from "../tasks/api";

/** What the job would reserve now, and what is available (nothing is reserved). */
export function useQuote(videoId: string | null, type: TaskType, mode: TaskMode) {
  return useQuery({
    queryKey: ["quote", videoId, type, mode],
    queryFn: () =>
      unwrap(api.POST("/api/videos/quote", { body: { video_id: videoId ?? "", type, mode } })),
    enabled: videoId !== null,
    staleTime: 0,
  });
}

export interface StartJob {
  type: TaskType;
  mode: TaskMode;
  imageId: string;
  videoId: string;
  /** One key per confirmation: a resend of the same click is answered, not charged again. */
  idempotencyKey: string;
}

export function useStartJob() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: ({ type, mode, imageId, videoId, idempotencyKey }: StartJob) => {
      const init = {
        body: { image_id: imageId, video_id: videoId, mode, watermark: false },
        headers: { "Idempotency-Key": idempotencyKey },
      };
      return unwrap(
        type === "move"
          ? api.POST("/api/videos/animate-move", init)
          : api.POST("/api/videos/animate-mix", init),
      );
    },
    onSuccess: (task) => {
      queryClient.setQueryData(taskKey(task.id), task);
      void queryClient.invalidateQueries({ queryKey: ["tasks"] });
      void queryClient.invalidateQueries({ queryKey: ["credits"] });
    },
  });
}
