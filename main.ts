#!/usr/bin/env bun
import type * as Prebuilt from "./cli/build/prebuilt-bundle.ts";
import type * as OrgMain from "./cli/org-main.ts";
import type * as QuickAnswer from "./cli/quick-answer.ts";
import type * as Paths from "./config/workspace-paths.ts";

// What org loads before its command runs is required, not imported: an `import` (static or dynamic) of a file bun
// must read hands it to bun's thread pool, started then (two threads, and mimalloc's scavenger with them: `bun -e 0`
// starts none), while `require` reads it on this thread; the prebuilt bundles are CommonJS, which `require` takes as
// they are (docs/benchmarks.md, the sandbox call's thirteenth round).
// biome-ignore lint/style/noCommonJs: loaded on this thread, without bun's thread pool (see above)
const { CHECKOUT_DIR }: typeof Paths = require("./config/workspace-paths.ts");

// The entry: org's commands from the prebuilt bundle of its code when there is one built from exactly these files
// (cli/build/prebuilt-bundle.ts), else from the files themselves. Loading the whole bundle costs a start about 30 ms of
// CPU whatever the command, so help and the version (a dozen modules) never look, `tool list` and `tool stats` (fewer
// than that costs) stay on source, and `sandbox` runs from a bundle of its own entry, cli/sandbox-main.ts
// (bench/startup.ts and docs/benchmarks.md measure each way). ORG_PREBUILT=on takes the bundle for all, =off never.
const NEVER = new Set(["-h", "--help", "help", "-v", "--version"]);
const LIGHT = new Set(["tool list", "tool stats"]);

async function orgMain(argv: readonly string[]): Promise<typeof OrgMain> {
  // A value org does not know is reported by the code that runs (config/environment.ts).
  const setting = process.env.ORG_PREBUILT;
  const [first = "", second = ""] = argv;
  const sandbox = first === "sandbox";
  if (setting !== "off" && !NEVER.has(first) && (setting === "on" || !LIGHT.has(`${first} ${second}`))) {
    // biome-ignore lint/style/noCommonJs: loaded on this thread, without bun's thread pool (see above)
    const { prebuiltBundle }: typeof Prebuilt = require("./cli/build/prebuilt-bundle.ts");
    const bundle = prebuiltBundle(CHECKOUT_DIR, sandbox ? "sandbox-main" : "org-main");
    try {
      // biome-ignore lint/style/noCommonJs: a CommonJS bundle, loaded on this thread (see above)
      if (bundle) return require(bundle);
    } catch {
      // A bundle whose stamps hold but that does not load (a bun that cannot read its bytecode): the source can.
    }
  }
  return sandbox ? import("./cli/sandbox-main.ts") : import("./cli/org-main.ts");
}

/** Help and the version without the command table (cli/quick-answer.ts). */
function quickAnswer(argv: readonly string[]): string | undefined {
  if (!NEVER.has(argv[0] ?? "")) return undefined;
  // biome-ignore lint/style/noCommonJs: loaded on this thread, without bun's thread pool (see above)
  const quick: typeof QuickAnswer = require("./cli/quick-answer.ts");
  return quick.quickAnswer(argv);
}

const argv = process.argv.slice(2);
const quick = quickAnswer(argv);
// console.log: bun's process.stdout costs a start more than all of this.
if (quick !== undefined) console.log(quick);
else {
  // The one place that catches everything and decides the exit code, with the report of the code that threw.
  const org = await orgMain(argv);
  try {
    process.exitCode = await org.main(argv);
  } catch (error) {
    const failure = await org.failureReport(error);
    process.stderr.write(failure.text);
    process.exitCode = failure.exitCode;
  }
}
