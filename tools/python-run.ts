import { z } from "zod";
import { defineTool } from "./define-tool.ts";
import { runInSandbox, TIMEOUT_S_PARAMETER } from "./run-in-sandbox.ts";

const DESCRIPTION = [
  "Run Python 3 code in an isolated sandbox and get its exit code, stdout and stderr (print what you need).",
  "The standard library is available; it starts in the user's project at /workspace (read-only unless the room",
  "lets you edit it); /scratch persists between calls in this session; there is no network unless the user's sandbox.egress",
  "allows hosts: then HTTP(S) goes through the proxy in HTTPS_PROXY to those hosts only.",
  "Limits: the timeout (default 30 s), 1 GiB memory.",
].join(" ");

/** The host's system Python, mounted read-only with the rest of /usr. */
export const PYTHON = "/usr/bin/python3";

export const pythonRun = defineTool("python_run", {
  description: DESCRIPTION,
  runsCode: true,
  needs: ["askPerson", "workspaceWrite"],
  parameters: z.object({ code: z.string().min(1).max(1_000_000).describe("The Python source to run."), timeout_s: TIMEOUT_S_PARAMETER }),
  execute(args, context) {
    // Code arrives on stdin ("-" reads the program from it); -I ignores PYTHON* variables and user site,
    // -B writes no bytecode into scratch.
    return runInSandbox(
      { argv: [PYTHON, "-I", "-B", "-"], stdin: args.code, timeout_s: args.timeout_s, tool: "python_run", text: args.code },
      context,
    );
  },
});
