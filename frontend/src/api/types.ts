// Names for the generated schema's components (src/api/generated, built from
// /api/schema by scripts/gen-api.mjs). Aliases only: no shape is written here.
import type { components, paths } from "./generated/schema";

type Schemas = components["schemas"];

export type { paths };
export type User = Schemas["User"];
export type Task = Schemas["Task"];
export type TaskStatus = Schemas["TaskStatusEnum"];
export type TaskType = Schemas["TaskTypeEnum"];
export type TaskMode = Schemas["ModeEnum"];
export type MediaFile = Schemas["File"];
export type Credits = Schemas["Credits"];
export type LedgerEntry = Schemas["LedgerEntry"];
export type CreditPackage = Schemas["CreditPackage"];
export type Payment = Schemas["Payment"];
export type TokenPair = Schemas["TokenPair"];
export type AuthResponse = Schemas["AuthResponse"];

export type StripePayment = Schemas["StripePayment"];
export type WechatPayment = Schemas["WechatPayment"];
export type SiteConfig = Schemas["SiteConfig"];
export type ImageLimits = Schemas["ImageLimits"];
export type VideoLimits = Schemas["VideoLimits"];
export type Quote = Schemas["Quote"];
export type ErrorBody = Schemas["Error"];
export type ErrorDetail = Schemas["ErrorDetail"];
