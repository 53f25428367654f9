// Names for the generated schema's components (src/api/generated, built from
// /api/schema by scripts/gen-api.mjs). Aliases only: no shape is written here.
import type { components, paths } from "./generated/schema";

type Schemas = components["schemas"];

export type { paths };
export type User = Schemas["User"];
export type Task = Schemas["Task"];
export type TaskStatus = Schemas["TaskStatusEnum"];
export type TaskType = Schemas["TaskTypeEnum"];
export type TaskMode = Schemas["TaskModeEnum"];
export type MediaFile = Schemas["File"];
export type Credits = Schemas["Credits"];
export type LedgerEntry = Schemas["LedgerEntry"];
export type CreditPackage = Schemas["CreditPackage"];
export type Payment = Schemas["Payment"];
export type TokenPair = Schemas["TokenPair"];
export type AuthResponse = Schemas["AuthResponse"];

// TRANSITIONAL: /api/config is not in the schema yet (issue 10 adds it). This
// mirrors API.md's description until the generated type replaces it.
export interface PlatformConfig {
  region: string;
  sign_in: {
    password: boolean;
    google: { client_id: string } | null;
    wechat: { app_id: string } | null;
  };
  payments: {
    stripe: { currencies: string[] } | null;
    wechat: { trade_types: string[] } | null;
  };
  limits: { image: Record<string, number>; video: Record<string, number> };
  modes: { type: TaskType; mode: TaskMode; credits_per_second: number }[];
  signup_bonus: number;
}

// TRANSITIONAL, as above: pages of ledger entries and payments, and a quote.
export interface Paginated<T> {
  count: number;
  next: string | null;
  previous: string | null;
  results: T[];
}
export interface Quote {
  credits: number;
  available: number;
}
export type StripePayment = Schemas["StripePayment"];
export type WechatPayment = Schemas["WechatPayment"];
