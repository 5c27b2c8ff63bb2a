#!/usr/bin/env bun
import { CHECKOUT_DIR } from "./config/workspace-paths.ts";

// The entry: org's commands from the prebuilt bundle of its code when there is one built from exactly these files
// (cli/build/prebuilt-bundle.ts), else from the files themselves. Help and the version are a dozen modules either
// way: they are never worth the bundle's check.
const LIGHT = new Set(["-h", "--help", "help", "-v", "--version"]);

async function orgMain(argv: readonly string[]): Promise<typeof import("./cli/org-main.ts")> {
  // ORG_PREBUILT=off runs from source; a value org does not know is reported by the code that runs (config/environment.ts).
  if (process.env.ORG_PREBUILT !== "off" && !LIGHT.has(argv[0] ?? "")) {
    const bundle = (await import("./cli/build/prebuilt-bundle.ts")).prebuiltBundle(CHECKOUT_DIR);
    if (bundle) return import(bundle);
  }
  return import("./cli/org-main.ts");
}

// The one place that catches everything and decides the exit code, with the report of the code that threw.
const argv = process.argv.slice(2);
const org = await orgMain(argv);
try {
  process.exitCode = await org.main(argv);
} catch (error) {
  const failure = await org.failureReport(error);
  process.stderr.write(failure.text);
  process.exitCode = failure.exitCode;
}
