// The live stream of the user's task changes, shared by every page: each event
// refreshes that task in the cache (and the lists and credits it affects).
// While the tab is hidden the stream is closed; without a stream, pages poll.
import { useQueryClient } from "@tanstack/react-query";
import { createContext, useContext, useEffect, useState, type ReactNode } from "react";

import { openTaskEvents } from "../api/events";
import type { Task } from "../api/types";
import { useSession } from "../auth/useSession";

interface Live {
  streaming: boolean;
}

const LiveContext = createContext<Live>({ streaming: false });

export function useLive(): Live {
  return useContext(LiveContext);
}

function useVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState !== "hidden");
  useEffect(() => {
    const update = () => setVisible(document.visibilityState !== "hidden");
    document.addEventListener("visibilitychange", update);
    return () => document.removeEventListener("visibilitychange", update);
  }, []);
  return visible;
}

export function TaskLiveUpdates({ children }: { children: ReactNode }) {
  const state = useSession();
  const visible = useVisible();
  const queryClient = useQueryClient();
  const [streaming, setStreaming] = useState(false);
  const [unavailable, setUnavailable] = useState(false);
  const signedIn = state.status === "signed-in";

  useEffect(() => {
    if (!signedIn || !visible || unavailable) return;
    const events = openTaskEvents({
      onTask: (task: Task) => {
        queryClient.setQueryData(["task", task.id], task);
        void queryClient.invalidateQueries({ queryKey: ["tasks"] });
        void queryClient.invalidateQueries({ queryKey: ["credits"] });
      },
      onConnected: (connected) => {
        setStreaming(connected);
        // Whatever changed while disconnected is fetched once.
        if (connected) void queryClient.invalidateQueries({ queryKey: ["task"] });
      },
      onUnavailable: () => {
        setStreaming(false);
        setUnavailable(true);
      },
    });
    return () => {
      events.close();
      setStreaming(false);
    };
  }, [signedIn, visible, unavailable, queryClient]);

  return <LiveContext.Provider value={{ streaming }}>{children}</LiveContext.Provider>;
}
