import { z } from "zod";
import { defineTool } from "./define-tool.ts";
import { prestartSessionSandbox, runInSandbox, TIMEOUT_S_PARAMETER } from "./run-in-sandbox.ts";

const DESCRIPTION = [
  "Run a shell command (/bin/sh -c) in an isolated sandbox and get its exit code, stdout and stderr.",
  "The user's project is at /workspace, where commands start: read-only, unless the room lets you edit it, and",
  "then your changes there go to the user as a patch to approve. /scratch (also HOME) is yours and persists",
  "between calls in this session; /tmp is private and small; the system (/usr) is read-only. There is no network unless",
  "the user's sandbox.egress allows hosts: then HTTP(S) goes through the proxy in HTTPS_PROXY to those hosts only.",
  "Limits: the timeout (default 30 s), 1 GiB memory per process, 64 processes, 64 MiB per file.",
].join(" ");

export const sh = defineTool("sh", {
  description: DESCRIPTION,
  runsCode: true,
  needs: ["askPerson", "workspaceWrite"],
  parameters: z.object({
    cmd: z.string().min(1).max(100_000).describe("The shell command line, run with /bin/sh -c."),
    timeout_s: TIMEOUT_S_PARAMETER,
  }),
  execute(args, context) {
    return runInSandbox({ argv: ["/bin/sh", "-c", args.cmd], timeout_s: args.timeout_s, tool: "sh", text: args.cmd }, context);
  },
  prepare: prestartSessionSandbox,
});
