import type * as MainHelp from "./main-help.ts";
import type * as Version from "../config/version.ts";
import { startedIsolatedAsWritten } from "../config/org-bun-command.ts";

/**
 * What `org --help` (`-h`, `help` alone) and `org --version` (`-v`) print, read by main.ts before the command table
 * loads: the first thing a newcomer types is bun's start and a handful of small modules, each of which costs it about
 * a millisecond, so the help's and the version's are required only for the one asked. Undefined for any other
 * command, and for a start whose isolation needs a file to confirm: the command table answers those, or refuses to.
 */
export function quickAnswer(argv: readonly string[]): string | undefined {
  const [first, ...rest] = argv;
  const help = first === "-h" || first === "--help" || (first === "help" && rest.length === 0);
  const version = first === "-v" || first === "--version";
  if (!(help || version) || !startedIsolatedAsWritten()) return undefined;
  if (help) {
    // biome-ignore lint/style/noCommonJs: required on this thread, only for the answer asked (see above)
    const { mainHelp }: typeof MainHelp = require("./main-help.ts");
    return mainHelp();
  }
  // biome-ignore lint/style/noCommonJs: required on this thread, only for the answer asked (see above)
  const { orgVersion }: typeof Version = require("../config/version.ts");
  return orgVersion();
}
