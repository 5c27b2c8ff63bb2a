import type * as MainHelp from "./main-help.ts";
import type * as Version from "../config/version.ts";
import { startedIsolatedAsWritten } from "../config/org-bun-command.ts";

/**
 * What `org --help` (`-h`, `help` alone) and `org --version` (`-v`) print; undefined for any other command line,
 * `help COMMAND` among them. The help's and the version's modules are required only for the one asked: each costs
 * the first thing a newcomer types about a millisecond.
 */
export function helpOrVersion(argv: readonly string[]): string | undefined {
  const [first, ...rest] = argv;
  if (first === "-h" || first === "--help" || (first === "help" && rest.length === 0)) {
    // biome-ignore lint/style/noCommonJs: required on this thread, only for the answer asked (see above)
    const { mainHelp }: typeof MainHelp = require("./main-help.ts");
    return mainHelp();
  }
  if (first !== "-v" && first !== "--version") return undefined;
  // biome-ignore lint/style/noCommonJs: required on this thread, only for the answer asked (see above)
  const { orgVersion }: typeof Version = require("../config/version.ts");
  return orgVersion();
}

/**
 * helpOrVersion as main.ts asks it, before the command table loads: only for a start isolated as the launcher spells
 * it. Undefined for one whose isolation needs a file to confirm: the command table (cli/run-org.ts) answers that one,
 * or refuses it.
 */
export function quickAnswer(argv: readonly string[]): string | undefined {
  return startedIsolatedAsWritten() ? helpOrVersion(argv) : undefined;
}
