// Credits, packages and payments: server state through TanStack Query.
import { keepPreviousData, useMutation, useQuery, useQueryClient } from "@tanstack/react-query";

import { api, unwrap } from "../api/client";
import type { StripePayment, WechatPayment } from "../api/types";
import { useSession } from "../auth/useSession";

export const creditsKey = ["credits"] as const;
export const paymentKey = (id: string) => ["payment", id] as const;

export function useCredits() {
  const state = useSession();
  return useQuery({
    queryKey: creditsKey,
    queryFn: () => unwrap(api.GET("/api/users/credits")),
    enabled: state.status === "signed-in",
  });
}

export function useLedger(page: number) {
  return useQuery({
    queryKey: [...creditsKey, "history", page],
    queryFn: () => unwrap(api.GET("/api/users/credits/history", { params: { query: { page } } })),
    placeholderData: keepPreviousData,
  });
}

export function usePayments(page: number) {
  return useQuery({
    queryKey: ["payments", page],
    queryFn: () => unwrap(api.GET("/api/payments", { params: { query: { page } } })),
    placeholderData: keepPreviousData,
  });
}

export function usePackages() {
  return useQuery({
    queryKey: ["packages"],
    queryFn: () => unwrap(api.GET("/api/payments/packages")),
    staleTime: 5 * 60_000,
  });
}

const FINAL_PAYMENT = new Set(["paid", "failed", "canceled", "refunded"]);

/** One payment, asked again every 2 s until it is settled (tab visible only). */
export function usePayment(id: string) {
  const queryClient = useQueryClient();
  return useQuery({
    queryKey: paymentKey(id),
    queryFn: async () => {
      const payment = await unwrap(
        api.GET("/api/payments/{payment_id}", { params: { path: { payment_id: id } } }),
      );
      if (payment.status === "paid") void queryClient.invalidateQueries({ queryKey: creditsKey });
      // Keep what only the creation answer had (the QR code's URL).
      const known = queryClient.getQueryData<Partial<WechatPayment>>(paymentKey(id));
      const merged: Partial<WechatPayment> & typeof payment = { ...known, ...payment };
      return merged;
    },
    refetchInterval: (query) =>
      query.state.data && FINAL_PAYMENT.has(query.state.data.status) ? false : 2_000,
  });
}

const PENDING_KEY = "animate.payment";

/** The payment this tab left for (Stripe, WeChat H5), read back on return. */
export function rememberPayment(id: string): void {
  sessionStorage.setItem(PENDING_KEY, id);
}

export function recalledPayment(): string | null {
  return sessionStorage.getItem(PENDING_KEY);
}

function newKey(): string {
  return crypto.randomUUID();
}

export function useBuyWithStripe() {
  return useMutation({
    mutationFn: (body: { package_id: number; currency?: string }) =>
      unwrap(
        api.POST("/api/payments/stripe/create", {
          body,
          headers: { "Idempotency-Key": newKey() },
        }),
      ) as Promise<StripePayment>,
  });
}

export function useBuyWithWechat() {
  const queryClient = useQueryClient();
  return useMutation({
    mutationFn: (body: { package_id: number; trade_type: "native" | "h5" }) =>
      unwrap(
        api.POST("/api/payments/wechat/create", {
          body,
          headers: { "Idempotency-Key": newKey() },
        }),
      ) as Promise<WechatPayment>,
    onSuccess: (payment) => queryClient.setQueryData(paymentKey(payment.id), payment),
  });
}
