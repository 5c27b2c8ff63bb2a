import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR } from "./workspace-paths.ts";

let cached: string | undefined;

/** org's version: package.json's `version`, read once; "unknown" when it cannot be read. */
export function orgVersion(): string {
  if (cached === undefined) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(CHECKOUT_DIR, "package.json"), "utf8"));
      const version = typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined;
      cached = typeof version === "string" && version !== "" ? version : "unknown";
    } catch {
      cached = "unknown";
    }
  }
  return cached;
}
