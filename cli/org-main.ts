import { commands } from "./command-table.ts";
import { runOrg } from "./run-org.ts";

// What main.ts runs for every command but `sandbox` (cli/sandbox-main.ts): from these files, or from the prebuilt bundle
// of them (cli/build/prebuilt-bundle.ts), whose `failureReport` is the one of the code that threw.

/** Runs the command `argv` names; its exit code. */
export function main(argv: string[]): Promise<number> {
  return runOrg(argv, commands);
}

export { failureReport } from "./run-org.ts";
