// Where the API is, and what language to ask it for.
//
// VITE_API_BASE_URL is a build variable: empty when the platform serves the
// console (same origin), the API's origin when the build is hosted on a CDN.
export const apiBase = (
  import.meta.env.VITE_API_BASE_URL || (typeof window !== "undefined" ? window.location.origin : "")
).replace(/\/+$/, "");

let language = "en";

/** The console's language, sent as Accept-Language so errors come back in it. */
export function setApiLanguage(tag: string): void {
  language = tag;
}

export function languageHeader(): Record<string, string> {
  return { "Accept-Language": language };
}
