// Tasks: one task (kept fresh by the live stream or by polling), the history
// list, cancel and retry. Server state lives in TanStack Query's cache.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useRef } from "react";

import { api, unwrap } from "../api/client";
import type { Task, TaskStatus, TaskType } from "../api/types";
import { useLive } from "./live";
import { isFinal, pollDelay, PollBackoff } from "./polling";

export const taskKey = (id: string) => ["task", id] as const;
export const tasksKey = ["tasks"] as const;

function pageVisible(): boolean {
  return typeof document === "undefined" || document.visibilityState !== "hidden";
}

export function useTask(id: string) {
  const { streaming } = useLive();
  const backoff = useRef(new PollBackoff());
  return useQuery({
    queryKey: taskKey(id),
    queryFn: () => unwrap(api.GET("/api/tasks/{task_id}", { params: { path: { task_id: id } } })),
    refetchInterval: (query) => {
      const task = query.state.data;
      if (!task || isFinal(task.status) || streaming || !pageVisible()) return false;
      const wait = backoff.current.next(`${task.status}:${task.started_at ?? ""}`);
      return pollDelay(wait, task.estimated_finish_at);
    },
    refetchIntervalInBackground: false,
  });
}

export interface TaskFilters {
  status?: TaskStatus | undefined;
  type?: TaskType | undefined;
  page: number;
}

export function useTasks(filters: TaskFilters) {
  const { streaming } = useLive();
  return useQuery({
    queryKey: [...tasksKey, filters],
    queryFn: () =>
      unwrap(
        api.GET("/api/tasks/user/tasks", {
          params: {
            query: {
              page: filters.page,
              ...(filters.status ? { status: filters.status } : {}),
              ...(filters.type ? { type: filters.type } : {}),
            },
          },
        }),
      ),
    placeholderData: keepPreviousData,
    // Without the stream, a list with unfinished tasks is refreshed now and then.
    refetchInterval: (query) =>
      !streaming && pageVisible() && query.state.data?.results.some((t) => !isFinal(t.status))
        ? 10_000
        : false,
  });
}

function useTaskChanged() {
  const queryClient = useQueryClient();
  return (task: Task) => {
    queryClient.setQueryData(taskKey(task.id), task);
    void queryClient.invalidateQueries({ queryKey: tasksKey });
    void queryClient.invalidateQueries({ queryKey: ["credits"] });
  };
}

export function useCancelTask(id: string) {
  const changed = useTaskChanged();
  return useMutation({
    mutationFn: () =>
      unwrap(api.DELETE("/api/tasks/{task_id}", { params: { path: { task_id: id } } })),
    onSuccess: changed,
  });
}

export function useRetryTask(id: string) {
  const changed = useTaskChanged();
  return useMutation({
    mutationFn: (idempotencyKey: string) =>
      unwrap(
        api.POST("/api/tasks/{task_id}/retry", {
          params: { path: { task_id: id } },
          headers: { "Idempotency-Key": idempotencyKey },
        }),
      ),
    onSuccess: changed,
  });
}
