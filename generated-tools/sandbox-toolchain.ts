import { existsSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ReadOnlyMount } from "../sandbox/bwrap-argv.ts";
import { bundledPackage } from "./bundled-package.ts";

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
export class ToolchainMissingError extends Error {
  override name = "ToolchainMissingError";
}

function packageDir(name: string): string {
  try {
    return dirname(Bun.resolveSync(`${name}/package.json`, import.meta.dir));
  } catch {
    throw new ToolchainMissingError(`the package ${name} is not installed next to org; run 'npm install' in org's folder`);
  }
}

let cached: ReadOnlyMount[] | undefined;

/**
 * Read-only mounts every generated-tool sandbox gets: this bun binary, the native TypeScript compiler, the
 * fixed runner and the packages tools and their tests may import. Nothing else of the host is shown.
 */
export function toolchainMounts(): ReadOnlyMount[] {
  if (cached) return cached;
  const tsgoPackage = `@typescript/native-preview-${process.platform}-${process.arch}`;
  const mounts: ReadOnlyMount[] = [
    { source: process.execPath, target: SANDBOX_BUN },
    { source: packageDir(tsgoPackage), target: dirname(dirname(SANDBOX_TSGO)) },
    { source: join(import.meta.dir, "generated-tool-runner.ts"), target: SANDBOX_RUNNER },
    { source: join(import.meta.dir, "tool-source-preload.ts"), target: SANDBOX_TOOL_SOURCE_PRELOAD },
    { source: join(import.meta.dir, "isolated-test-runs.ts"), target: SANDBOX_ISOLATED_TEST_RUNS },
    { source: join(import.meta.dir, "isolated-source-preload.ts"), target: SANDBOX_ISOLATED_SOURCE_PRELOAD },
    { source: join(import.meta.dir, "withhold-globals.ts"), target: SANDBOX_WITHHOLD_GLOBALS },
    ...PACKAGES.map((name) => ({ source: packageDir(name), target: `/node_modules/${name}` })),
  ];
  // Each as one file with its bytecode beside the package, and over the package's own entry (after the package) a
  // shim that re-exports it: the same exports, loaded for a fraction of the CPU time by each fresh process.
  for (const [name, entry] of BYTECODE_ENTRIES) {
    const bundle = bundledPackage(packageDir(name), entry);
    if (bundle)
      mounts.push({ source: bundle.dir, target: `/node_modules/${bundle.mountName}` }, { source: bundle.shim, target: `/node_modules/${name}/${entry}` });
  }
  for (const mount of mounts) {
    if (!existsSync(mount.source)) throw new ToolchainMissingError(`${mount.source} is missing; run 'npm install' in org's folder`);
  }
  cached = mounts;
  return mounts;
}

/** Variables every generated-tool sandbox gets: no transpiler cache written into scratch, no telemetry. */
export const TOOLCHAIN_ENV: Record<string, string> = {
  BUN_RUNTIME_TRANSPILER_CACHE_PATH: "0",
  DO_NOT_TRACK: "1",
  NO_COLOR: "1",
};
