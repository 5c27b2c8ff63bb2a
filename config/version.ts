import { CHECKOUT_DIR } from "./workspace-paths.ts";

/** org's version: package.json's `version`; "unknown" when it cannot be read. An entry point reads it once, at assembly. */
export function orgVersion(): string {
  try {
    // bun's own JSON loader, not node:fs, which would cost `org --version` a third of its time (cli/main.loads.test.ts).
    // biome-ignore lint/style/noCommonJs: read on this thread without loading node:fs (see above)
    const parsed: unknown = require(`${CHECKOUT_DIR}/package.json`);
    const version = typeof parsed === "object" && parsed !== null && "version" in parsed ? parsed.version : undefined;
    return typeof version === "string" && version !== "" ? version : "unknown";
  } catch {
    return "unknown";
  }
}
