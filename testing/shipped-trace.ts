// The trace shipped with the code (fitness/shipped-trace.json): which test files a tool can reach read the tool
// folders, with what each depended on, so that the first gate of a fresh clone traces only what changed since
// (fitness/README.md, "Which reachable tests run"). `bun testing/shipped-trace.ts --write` (npm run trace:ship)
// traces, in a copy of this checkout, the files whose shipped verdict no longer stands, and writes the file again.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { gateTestEnvironment } from "../config/environment.ts";
import { knownVerdicts, readShippedTrace, SHIPPED_TRACE_FILE, shippedTraceText, traceContext } from "../fitness/folder-readers.ts";
import { reachableTestsAt } from "../fitness/reachable-tests.ts";
import { treeStatesAt } from "../fitness/run-traced.ts";
import { traceReachableTests } from "../fitness/trace-reachable-tests.ts";
import { RepoGit } from "../git/repo-git.ts";
import { orgClone } from "./org-clone.ts";

const REPO = join(import.meta.dir, "..");

/** The code as committed in a copy of this checkout's working tree (no promoted tools), and its main commit. */
async function copied(): Promise<{ clone: ReturnType<typeof orgClone>; git: RepoGit; commit: string }> {
  const clone = orgClone("org-shipped-trace-", { withoutGeneratedTools: true });
  const git = new RepoGit(clone.dir);
  return { clone, git, commit: clone.head };
}

/**
 * Which of the test files a tool can reach in this checkout's working tree have no verdict in the shipped trace that
 * stands here (`knownVerdicts`, the shipped trace alone), which files it holds that are no longer selected, and why.
 */
export async function staleShippedTrace(root: string = REPO): Promise<{ tests: string[]; stale: string[]; extra: string[]; reason: string }> {
  const { clone, git, commit } = await copied();
  using _ = clone;
  const { tests } = await reachableTestsAt(git, commit);
  const env = gateTestEnvironment();
  const shipped = readShippedTrace(root);
  const context = traceContext(process.execPath, env.keyed);
  const known = knownVerdicts(clone.dir, tests, await treeStatesAt(git, commit), context, { shipped, path: env.keyed.PATH });
  const stale = tests.filter((test) => known.verdicts.get(test)?.source !== "shipped");
  const extra = Object.keys(shipped?.tests ?? {}).filter((test) => !tests.includes(test));
  return { tests, stale, extra, reason: shipped ? known.reason : `no readable ${SHIPPED_TRACE_FILE}` };
}

if (import.meta.main) {
  if (!process.argv.includes("--write")) {
    const { tests, stale, extra, reason } = await staleShippedTrace();
    console.log(`${tests.length - stale.length} of ${tests.length} shipped verdicts stand${stale.length > 0 ? ` (${reason})` : ""}`);
    if (extra.length > 0) console.log(`${extra.length} shipped for files no longer selected: ${extra.join(", ")}`);
    process.exitCode = stale.length > 0 || extra.length > 0 ? 1 : 0;
  } else {
    const { clone, git, commit } = await copied();
    using _ = clone;
    const started = performance.now();
    const done = await traceReachableTests(
      { git, commit, shippedFrom: clone.dir },
      { bun: process.execPath, timeoutMs: 1_800_000, signal: new AbortController().signal, onProgress: (line) => console.log(line) },
    );
    if (!done.verdicts) throw new Error(`the trace did not complete: ${done.said}`);
    writeFileSync(join(REPO, SHIPPED_TRACE_FILE), shippedTraceText(done.verdicts));
    console.log(`${done.said}; wrote ${SHIPPED_TRACE_FILE} in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  }
}
