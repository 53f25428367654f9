/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** The API's origin for a build hosted elsewhere (a CDN); empty: same origin. */
  readonly VITE_API_BASE_URL?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
