import { runOrg } from "./run-org.ts";
import { sandboxCommandEntry } from "./sandbox-command-entry.ts";

// What main.ts runs for `org sandbox …`, the command an agent's every shell call pays for: about fifty modules, so it
// has an entry of its own and a prebuilt bundle of its own (cli/build/), a thirtieth the size of cli/org-main.ts's.

/** Runs `org sandbox …` (`argv` starts with `sandbox`); its exit code. */
export function main(argv: string[]): Promise<number> {
  return runOrg(argv, [sandboxCommandEntry]);
}

export { failureReport } from "./run-org.ts";
