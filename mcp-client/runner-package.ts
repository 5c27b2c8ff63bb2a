import { dirname, join } from "node:path";
import { CODE_FILE, firstPositional, PACKAGE_FLAGS } from "./command-arguments.ts";
import { type LaunchPlace, toHost } from "./launch-place.ts";
import type { LaunchPlan } from "./launch-plan.ts";
import { packageJson } from "./package-json.ts";

/** Package runners and the subcommand that makes a package manager one (`npm exec`, `bun x`). */
export const RUNNERS: Record<string, { subcommands?: readonly string[]; kind: "node" | "python" }> = {
  npx: { kind: "node" },
  bunx: { kind: "node" },
  pnpx: { kind: "node" },
  npm: { subcommands: ["exec", "x"], kind: "node" },
  pnpm: { subcommands: ["dlx", "exec"], kind: "node" },
  yarn: { subcommands: ["dlx", "exec"], kind: "node" },
  bun: { subcommands: ["x"], kind: "node" },
  uvx: { kind: "python" },
  uv: { subcommands: ["run", "tool"], kind: "python" },
};

/** The package a runner runs: its name without a version; where it is looked for in the workspace before anywhere else. */
export function addRunnerPackage(plan: LaunchPlan, kind: "node" | "python", args: readonly string[], place: LaunchPlace): void {
  const flagged = args.findIndex((arg) => PACKAGE_FLAGS.has(arg));
  const inline = args.find((arg) => [...PACKAGE_FLAGS].some((flag) => arg.startsWith(`${flag}=`)));
  const at = firstPositional(args);
  const spec =
    flagged >= 0 ? args[flagged + 1] : inline !== undefined ? inline.slice(inline.indexOf("=") + 1) : at !== undefined ? args[at] : undefined;
  if (spec === undefined) return;
  if (/^(\.{1,2}\/|\/|file:)/.test(spec) && !CODE_FILE.test(spec)) {
    // A package in a folder: all of it is what runs.
    plan.trees.push(toHost(place, spec.replace(/^file:/, "")));
    return;
  }
  if (kind !== "node") {
    // `uv run server.py` runs a script of the project's with the project's environment; any `uv run` reads its settings.
    for (const file of ["pyproject.toml", "uv.toml", "uv.lock"]) plan.files.push(toHost(place, file));
    if (CODE_FILE.test(spec)) {
      plan.files.push(toHost(place, spec));
      plan.moduleFolders.push(dirname(toHost(place, spec)));
    }
    return;
  }
  const name = spec.replace(/^(@[^/@]+\/[^/@]+|[^/@]+)@.*$/, "$1");
  // npm exec, bunx and the others look in the project's node_modules first, and put its .bin first on the PATH of what
  // they run (a `node` there is the node a package's `#!/usr/bin/env node` gets).
  const modules = toHost(place, "node_modules");
  plan.trees.push(join(modules, ".bin"), join(modules, name));
  plan.files.push(join(modules, name, "package.json"));
  // The project itself, when it bears the package's name, is the package.
  const manifest = toHost(place, "package.json");
  plan.facts[`${manifest} names ${name}`] = String(packageJson(manifest)?.name === name);
}
