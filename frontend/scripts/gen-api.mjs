// Generates the API client's types from the platform's OpenAPI schema:
//   1. the schema: $SCHEMA_FILE when set (a CDN build with no Python), else
//      `manage.py spectacular` run by $PYTHON (default ../.venv/bin/python);
//   2. src/api/generated/schema.d.ts from it, with openapi-typescript.
// Both files are build output: gitignored, never committed.
import { execFileSync } from "node:child_process";
import { existsSync, mkdirSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const frontend = resolve(here, "..");
const repo = resolve(frontend, "..");
const out = resolve(frontend, "src/api/generated");
mkdirSync(out, { recursive: true });

let schema = process.env.SCHEMA_FILE ? resolve(process.env.SCHEMA_FILE) : "";
if (!schema) {
  schema = resolve(out, "openapi.yaml");
  const python = process.env.PYTHON || resolve(repo, ".venv/bin/python");
  if (!existsSync(python) && !process.env.PYTHON) {
    console.error(
      `gen-api: ${python} is missing; run \`make install\`, or set PYTHON or SCHEMA_FILE.`,
    );
    process.exit(1);
  }
  execFileSync(python, [resolve(repo, "manage.py"), "spectacular", "--file", schema], {
    cwd: repo,
    stdio: ["ignore", "inherit", "inherit"],
    env: {
      ...process.env,
      DJANGO_SETTINGS_MODULE: process.env.SCHEMA_SETTINGS || "config.settings.base",
      LOG_LEVEL: "ERROR",
    },
  });
}
execFileSync(
  resolve(frontend, "node_modules/.bin/openapi-typescript"),
  [schema, "--output", resolve(out, "schema.d.ts"), "--empty-objects-unknown"],
  { cwd: frontend, stdio: ["ignore", "ignore", "inherit"] },
);
console.log("gen-api: src/api/generated/schema.d.ts");
