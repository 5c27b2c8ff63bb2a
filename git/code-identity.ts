import { createHash } from "node:crypto";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { CHECKOUT_DIR, GENERATED_TOOLS_DIR } from "../config/workspace-paths.ts";
import { canonicalJson } from "./gate-key.ts";

const sha256 = (data: string | Uint8Array) => createHash("sha256").update(data).digest("hex");

/** The files that make up org's code and its configuration; documents and data are left out. */
const CODE_FILE = /\.(?:ts|tsx|js|mjs|cjs|json|toml)$/;
const MAX_READ_BYTES = 1024 * 1024;
const MAX_FILES = 20_000;

/** The checkout holds too many files to tell its code by: nothing is recorded or taken from a record. */
export class CodeIdentityError extends Error {
  override name = "CodeIdentityError";
}

/**
 * The code org runs, hashed: what a validation, or a tool's tests run by the gate, depends on besides its inputs.
 * Every code and configuration file of the checkout org runs from as it is on disk (package.json,
 * package-lock.json, bunfig.toml and tsconfig.json among them), outside `tools/generated/`, dot-folders and
 * node_modules, and the bun running. The walk reads file types from the directory listings and never
 * opens `tools/generated/`, so computing it touches nothing a candidate can change (the gate's trace counts a test
 * that does as one that reads the candidate's tools). Links are not followed; a file over 1 MiB counts by its
 * size and time; past 20 000 files it throws `CodeIdentityError`, and callers then trust no record.
 */
export function codeIdentity(checkoutDir: string = CHECKOUT_DIR): string {
  const files: string[] = [];
  const walk = (relative: string) => {
    for (const entry of readdirSync(join(checkoutDir, relative), { withFileTypes: true })) {
      const path = relative === "" ? entry.name : `${relative}/${entry.name}`;
      if (entry.isDirectory()) {
        if (!entry.name.startsWith(".") && entry.name !== "node_modules" && path !== GENERATED_TOOLS_DIR) walk(path);
      } else if (entry.isFile() && CODE_FILE.test(entry.name)) {
        if (files.length >= MAX_FILES) throw new CodeIdentityError(`more than ${MAX_FILES} code files under ${checkoutDir}`);
        const file = join(checkoutDir, path);
        const stat = statSync(file);
        // No code file of org is this large: a data file is known by its size and time, not read.
        files.push(`${path}\0${stat.size > MAX_READ_BYTES ? `${stat.size} ${stat.mtimeMs}` : sha256(readFileSync(file))}`);
      }
    }
  };
  walk("");
  return sha256(canonicalJson({ version: 1, files: files.sort(), bun: `${Bun.version} ${Bun.revision}` }));
}
