import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR } from "./workspace-paths.ts";

/** org's version: package.json's `version`; "unknown" when it cannot be read. An entry point reads it once, at assembly. */
export function orgVersion(): string {
  try {
    const parsed: unknown = JSON.parse(readFileSync(join(CHECKOUT_DIR, "package.json"), "utf8"));
    const version = typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined;
    return typeof version === "string" && version !== "" ? version : "unknown";
  } catch {
    return "unknown";
  }
}
