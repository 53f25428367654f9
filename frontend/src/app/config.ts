// What this deployment offers (GET /api/config): sign-in methods, payment
// providers, upload limits, modes and their prices. Public and cacheable.
import { useQuery } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";

export const configKey = ["config"] as const;

export function useConfig() {
  return useQuery({
    queryKey: configKey,
    queryFn: () => unwrap(api.GET("/api/config")),
    staleTime: 10 * 60_000,
  });
}
