import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import type { ReadOnlyMount } from "../sandbox/bwrap-argv.ts";
import { bundledPackage } from "./bundled-package.ts";
import { OrgError } from "../errors/org-error.ts";

/** Where the sandbox finds bun, the TypeScript compiler, the fixed runner and the tool's folder. */
export const SANDBOX_BUN = "/org/bin/bun";
export const SANDBOX_TSGO = "/org/tsgo/lib/tsgo";
export const SANDBOX_RUNNER = "/org/runner/generated-tool-runner.ts";
/** Preloaded by `bun test`: serves tool.ts from stdin, so a mutant runs where the real tool does. */
export const SANDBOX_TOOL_SOURCE_PRELOAD = "/org/runner/tool-source-preload.ts";
/** Runs the tests once per source in warm `bun test --isolate` processes (the mutants), with the preload beside it. */
export const SANDBOX_ISOLATED_TEST_RUNS = "/org/runner/isolated-test-runs.ts";
const SANDBOX_ISOLATED_SOURCE_PRELOAD = "/org/runner/isolated-source-preload.ts";
const SANDBOX_WITHHOLD_GLOBALS = "/org/runner/withhold-globals.ts";
export const SANDBOX_TOOL_DIR = "/org/tool";

// The packages generated code may import, and the type packages the typecheck reads. Mounted at /node_modules,
// so a file anywhere in the sandbox (the tool's folder, scratch) resolves them the way Bun resolves any import.
const PACKAGES = ["zod", "fast-check", "pure-rand", "@types/bun", "bun-types", "@types/node", "undici-types"];
/** The packages loaded from bytecode (`bundled-package.ts`), each with its entry: the file `import "<name>"` loads. */
export const BYTECODE_ENTRIES: ReadonlyArray<readonly [string, string]> = [
  ["zod", "index.js"],
  ["fast-check", "lib/fast-check.js"],
];

/** The toolchain is not installed where org expects it; the message says how to fix the install. */
export class ToolchainMissingError extends OrgError {
  override name = "ToolchainMissingError";
}

function packageDir(name: string): string {
  try {
    return dirname(Bun.resolveSync(`${name}/package.json`, CHECKOUT_DIR));
  } catch {
    throw new ToolchainMissingError(`the package ${name} is not installed next to org; run 'npm install' in org's folder`);
  }
}

/** The only package tool.ts may import (the toolsmith's static policy), so the only one a tool's run reads. */
const RUN_PACKAGE = "zod";

/** A package at `/node_modules/<name>`; one loaded from bytecode also gets its bundle and, over its entry, the shim. */
function packageMounts(name: string): ReadOnlyMount[] {
  const directory = packageDir(name);
  const mounts = [{ source: directory, target: `/node_modules/${name}` }];
  const entry = BYTECODE_ENTRIES.find(([bundled]) => bundled === name)?.[1];
  // One file with its bytecode beside the package, and over the package's own entry (after the package) a shim that
  // re-exports it: the same exports, loaded for a fraction of the CPU time by each fresh process.
  const bundle = entry === undefined ? undefined : bundledPackage(directory, entry);
  if (bundle && entry)
    mounts.push(
      { source: bundle.dir, target: `/node_modules/${bundle.mountName}` },
      { source: bundle.shim, target: `/node_modules/${name}/${entry}` },
    );
  return mounts;
}

/** A file of this folder, mounted at `target`. */
const file = (name: string, target: string): ReadOnlyMount => ({ source: join(CHECKOUT_DIR, "generated-tools", name), target });

/** The mounts, each checked to be there: a missing one says how to fix the install. */
function checked(mounts: ReadOnlyMount[]): ReadOnlyMount[] {
  for (const mount of mounts) {
    if (!existsSync(mount.source)) throw new ToolchainMissingError(`${mount.source} is missing; run 'npm install' in org's folder`);
  }
  return mounts;
}

/** What every run needs: this bun binary, the fixed runner with what it imports, and zod. */
function runMounts(): ReadOnlyMount[] {
  return [
    { source: process.execPath, target: SANDBOX_BUN },
    file("generated-tool-runner.ts", SANDBOX_RUNNER),
    file("withhold-globals.ts", SANDBOX_WITHHOLD_GLOBALS),
    ...packageMounts(RUN_PACKAGE),
  ];
}

/**
 * Read-only mounts every generated-tool sandbox that checks a tool gets: this bun binary, the native TypeScript
 * compiler, the fixed runner, the test runners and the packages tools and their tests may import. Nothing else of
 * the host is shown.
 */
export function toolchainMounts(): ReadOnlyMount[] {
  const tsgoPackage = `@typescript/native-preview-${process.platform}-${process.arch}`;
  return checked([
    ...runMounts(),
    { source: packageDir(tsgoPackage), target: dirname(dirname(SANDBOX_TSGO)) },
    file("tool-source-preload.ts", SANDBOX_TOOL_SOURCE_PRELOAD),
    file("isolated-test-runs.ts", SANDBOX_ISOLATED_TEST_RUNS),
    file("isolated-source-preload.ts", SANDBOX_ISOLATED_SOURCE_PRELOAD),
    ...PACKAGES.filter((name) => name !== RUN_PACKAGE).flatMap(packageMounts),
  ]);
}

/**
 * The read-only mounts of a tool's run: bun, the fixed runner and what it imports, and zod. Not the compiler, the
 * test runners or the packages only tests and the typecheck read: a run sees no more than it needs, and each mount
 * costs bwrap a read of the mount table.
 */
export function runnerMounts(): ReadOnlyMount[] {
  return checked(runMounts());
}

/** Variables every generated-tool sandbox gets: no transpiler cache written into scratch, no telemetry. */
export const TOOLCHAIN_ENV: Record<string, string> = {
  BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0",
  DO_NOT_TRACK: "1",
  NO_COLOR: "1",
};
