import { chmodSync, lstatSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";
import { executableSearchPath } from "../config/environment.ts";
import { isolatedBunFlags } from "../config/org-bun-command.ts";

/**
 * One package's entry, built: `dir` holds the entry as one CommonJS file and its bytecode beside it, to be mounted
 * beside the package at `/node_modules/<mountName>`; `shim` is the ES module mounted over the package's own entry,
 * re-exporting the bundle's names and default from there.
 */
export type BundledPackage = { dir: string; shim: string; mountName: string };

/** Bumped when what a build writes changes, so an older build in the cache is not taken for this one. */
const FORMAT = 1;

/**
 * A package's ES module entry (`entry`, relative to `packageDir`: the file `import "<package>"` loads) bundled by bun
 * into one file with its bytecode beside it, so a fresh process neither parses nor compiles the package. In the
 * sandbox every fresh process loads zod (the fixed runner, the examples and determinism runs, each `bun test`) and the
 * tests load fast-check, again for each mutant's file (a fresh module registry): from bytecode, loading zod costs a
 * fresh bun about 10 ms of CPU instead of 20, fast-check about 5 instead of 35.
 *
 * The same code with the same exports: bun's bytecode needs the CommonJS format, so the bundle is built as CommonJS in
 * strict mode (the banner), as the package's ES modules run, and the shim re-exports its names and default. Only a
 * bun of the version that built it loads the bytecode (bun falls back to the source otherwise); the build is keyed by
 * the package's and bun's versions.
 *
 * Built once per version beside the installed packages (`node_modules/.cache/org-bundled/`, or `cacheDir`) into a
 * temporary folder renamed whole, so every org process after the first finds it ready and none sees half of one.
 * Undefined when it cannot be built there (a read-only install): the sandbox then loads the package's own files.
 */
export function bundledPackage(
  packageDir: string,
  entry: string,
  cacheDir = join(dirname(packageDir), ".cache", "org-bundled"),
): BundledPackage | undefined {
  try {
    const { name, version } = JSON.parse(readFileSync(join(packageDir, "package.json"), "utf8")) as { name?: unknown; version?: unknown };
    if (typeof name !== "string" || !/^[a-z0-9][a-z0-9._-]*$/.test(name)) throw new Error(`${packageDir} has no plain package name`);
    const mountName = `org-bundled-${name}`;
    const file = basename(entry);
    const dir = join(cacheDir, `${name}-${String(version)}-bun-${Bun.version}-${FORMAT}`);
    const shimText = `export * from "${mountName}/${file}";\nexport { default } from "${mountName}/${file}";\n`;
    if (!isComplete(dir, file)) build(join(packageDir, entry), dir, file, shimText);
    return { dir, shim: join(dir, "shim.js"), mountName };
  } catch {
    return undefined;
  }
}

function isComplete(dir: string, file: string): boolean {
  try {
    return [file, `${file}.jsc`, "shim.js"].every((name) => lstatSync(join(dir, name)).isFile());
  } catch {
    return false;
  }
}

function build(entryPath: string, dir: string, file: string, shimText: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o755 });
  const partial = `${dir}.${process.pid}.tmp`;
  rmSync(partial, { recursive: true, force: true });
  try {
    // Run where the package is, with org's own bunfig and no .env: the directory org started in may hold either.
    const result = Bun.spawnSync(
      [
        process.execPath,
        ...isolatedBunFlags(),
        "build",
        entryPath,
        "--outdir",
        partial,
        "--target",
        "bun",
        "--format",
        "cjs",
        "--bytecode",
        "--banner",
        '"use strict";',
      ],
      { cwd: dirname(entryPath), stdout: "ignore", stderr: "ignore", env: { PATH: executableSearchPath(), NO_COLOR: "1" }, timeout: 60_000 },
    );
    if (!result.success || !isStrictBytecodeBundle(join(partial, file))) throw new Error(`bun could not bundle ${entryPath}`);
    writeFileSync(join(partial, "shim.js"), shimText);
    // Readable by the sandbox's uid when org runs as root; the rename makes it whole or absent for every reader.
    for (const name of [file, `${file}.jsc`, "shim.js"]) chmodSync(join(partial, name), 0o444);
    chmodSync(partial, 0o755);
    try {
      renameSync(partial, dir);
    } catch (error) {
      // Another org process renamed its own build there first: that one is as good.
      if (!isComplete(dir, file)) throw error;
    }
  } finally {
    rmSync(partial, { recursive: true, force: true });
  }
}

/** Whether bun wrote a CommonJS bundle with bytecode whose wrapper runs in strict mode (what the load depends on). */
export function isStrictBytecodeBundle(path: string): boolean {
  try {
    const head = readFileSync(path, "utf8").slice(0, 200);
    return head.startsWith("// @bun @bytecode @bun-cjs\n") && /^\(function\([^)]*\) \{"use strict";/m.test(head) && lstatSync(`${path}.jsc`).isFile();
  } catch {
    return false;
  }
}
