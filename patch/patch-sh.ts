import { defineTool } from "../tools/define-tool.ts";
import { sh } from "../tools/sh.ts";

const DESCRIPTION = [
  "Run a shell command (/bin/sh -c) in an isolated sandbox and get its exit code, stdout and stderr.",
  "Commands start in /scratch (also HOME), which holds a private copy of the repository (without its .git):",
  "change files there and the changes become the patch. /tmp is private and small; the system (/usr) is",
  "read-only; there is no network. Limits: the timeout (default 30 s), 1 GiB memory per process, 64 processes,",
  "64 MiB per file.",
].join(" ");

/**
 * The agent's `sh` as `org patch` offers it: the same parameters and the same sandboxed run, described as the
 * model meets it there (the repository's copy in /scratch), not as in the room (the project at /workspace).
 */
export const patchSh = defineTool("sh", { description: DESCRIPTION, runsCode: true, parameters: sh.parameters, execute: sh.execute });
