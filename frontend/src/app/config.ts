// What this deployment offers (GET /api/config): sign-in methods, payment
// providers, upload limits, modes and their prices. Public and cacheable.
import { useQuery } from "@tanstack/react-query";

import { apiBase } from "../api/base";
import { ApiError, parseErrors } from "../api/errors";
import type { PlatformConfig } from "../api/types";

export const configKey = ["config"] as const;

async function fetchConfig(): Promise<PlatformConfig> {
  // TRANSITIONAL: becomes api.GET("/api/config") once the schema has it.
  const response = await fetch(`${apiBase}/api/config`);
  const body: unknown = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, parseErrors(body));
  return body as PlatformConfig;
}

export function useConfig() {
  return useQuery<PlatformConfig>({
    queryKey: configKey,
    queryFn: fetchConfig,
    staleTime: 10 * 60_000,
    retry: false,
  });
}
