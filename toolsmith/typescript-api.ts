import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type * as TypeScript from "typescript";
import { CHECKOUT_DIR } from "../config/workspace-paths.ts";
import { bundledPackage } from "../generated-tools/bundled-package.ts";

// The compiler is CommonJS: loaded with require, from its bundle or from the package.
const requireModule = createRequire(join(CHECKOUT_DIR, "toolsmith", "typescript-api.ts"));

/**
 * The TypeScript compiler's API, which parses and walks submitted code (the static policy, the mutants), loaded from
 * its bytecode bundle beside the installed packages (`bundled-package.ts`, built once per version, about 1.5 s): the
 * 8 MB compiler then loads for about 60 ms of CPU instead of 145, in each `org tool new` and `org fitness`. From the
 * package's own file when no bundle can be built there.
 */
function load(): typeof TypeScript {
  const packageDir = dirname(Bun.resolveSync("typescript/package.json", CHECKOUT_DIR));
  const bundle = bundledPackage(packageDir, "lib/typescript.js");
  return requireModule(bundle ? join(bundle.dir, "typescript.js") : "typescript");
}

export const ts = load();
