// Sign-in, sign-up and the signed-in user: server state through TanStack Query.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";
import { session } from "../api/session";
import type { AuthResponse, User } from "../api/types";
import { useSession } from "./useSession";

export const meKey = ["me"] as const;

/** The signed-in user (null while signed out). */
export function useMe() {
  const state = useSession();
  return useQuery({
    queryKey: meKey,
    queryFn: () => unwrap(api.GET("/api/auth/me")),
    enabled: state.status === "signed-in",
    staleTime: 60_000,
  });
}

function useSignedIn() {
  const queryClient = useQueryClient();
  return (body: AuthResponse) => {
    queryClient.clear();
    session.start(body);
    queryClient.setQueryData<User>(meKey, body.user);
  };
}

export function useSignIn() {
  const signedIn = useSignedIn();
  return useMutation({
    mutationFn: (body: { email: string; password: string }) =>
      unwrap(api.POST("/api/auth/login", { body })),
    onSuccess: signedIn,
  });
}

export function useSignUp() {
  const signedIn = useSignedIn();
  return useMutation({
    mutationFn: (body: { email: string; password: string; display_name?: string }) =>
      unwrap(api.POST("/api/auth/register", { body })),
    onSuccess: signedIn,
  });
}

export function useSocialSignIn(provider: "google" | "wechat") {
  const signedIn = useSignedIn();
  return useMutation({
    mutationFn: (body: { code: string; redirect_uri?: string }) =>
      provider === "google"
        ? unwrap(
            api.POST("/api/auth/google/login", {
              body: { code: body.code, redirect_uri: body.redirect_uri ?? "" },
            }),
          )
        : unwrap(api.POST("/api/auth/wechat/login", { body: { code: body.code } })),
    onSuccess: signedIn,
  });
}

/** Sign out: the refresh token is revoked at the server, then forgotten here. */
export function useSignOut() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: async () => {
      const refresh = session.currentRefresh;
      if (refresh) {
        try {
          await unwrap(api.POST("/api/auth/logout", { body: { refresh } }));
        } catch {
          // Already invalid or offline: forgetting it here is what is left to do.
        }
      }
    },
    onSettled: () => {
      session.end("signed-out");
      queryClient.clear();
    },
  });
}

export function useVerifyEmail() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (key: string) => unwrap(api.POST("/api/auth/email/verify", { body: { key } })),
    onSuccess: async () => {
      // A first fetch of the user may still be in flight from before the
      // verification: invalidating alone would wait for that stale answer.
      await queryClient.cancelQueries();
      await queryClient.invalidateQueries();
    },
  });
}

export function usePasswordReset() {
  return useMutation({
    mutationFn: (email: string) =>
      unwrap(api.POST("/api/auth/password/reset", { body: { email } })),
  });
}

export function usePasswordResetConfirm() {
  return useMutation({
    mutationFn: (body: { key: string; password: string }) =>
      unwrap(api.POST("/api/auth/password/reset/confirm", { body })),
  });
}
