// Run ONLY inside the sandbox (toolsmith/sandbox-stages.ts starts it): runs ./tool.test.ts, from the folder it is
// started in, once per source listed on stdin, each run with tool.ts served from that source, and prints one line
// per source: its index and `passed`, `failed` or `timed-out`. The runs share a warm `bun test --isolate` process:
// bun gives each test file a fresh global object and module registry, and isolated-source-preload.ts serves each its
// own source, so nothing one run leaves (a global, a patched prototype, a module's state) reaches the next.
//
// A run's verdict comes from bun's JUnit report, written by bun itself after the last file; output of the tests goes
// nowhere, so they cannot forge one. A run past its time is killed with its process and counts as failed; one whose
// process ends early (a crash) runs again alone, judged by its own exit; the runs of that process without a verdict
// run again.
// A test file that fails to load leaves no suite in the report: when the suites do not match the runs one to one,
// each run of that process is run again in a process of its own.
import { mkdirSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";

type Verdict = "passed" | "failed" | "timed-out";
type Request = { sources: string[]; perRunMs: number; reportDir: string };

const PRELOAD = join(import.meta.dir, "isolated-source-preload.ts");
const TEST_FILE = "./tool.test.ts";
/** What the first run gets on top of its own time, for bun to start and reach it. */
const STARTUP_MS = 10_000;

function parseRequest(text: string): Request {
  const value = JSON.parse(text) as Partial<Request>;
  const ok =
    Array.isArray(value.sources) &&
    value.sources.every((source) => typeof source === "string" && source.startsWith("/") && !source.includes("\n")) &&
    Number.isInteger(value.perRunMs) &&
    Number(value.perRunMs) > 0 &&
    typeof value.reportDir === "string" &&
    value.reportDir.startsWith("/");
  if (!ok) throw new Error(`isolated-test-runs: a malformed request on stdin: ${text.slice(0, 200)}`);
  return value as Request;
}

const request = parseRequest(await Bun.stdin.text());
mkdirSync(request.reportDir, { recursive: true });

/** What one `bun test --isolate` process over `indices` gave: how many files began, and each file's verdict when known. */
type ProcessOutcome = { began: number; timedOut: boolean; exitCode: number | null; suites: Verdict[] | undefined };

/** How many processes this run has started: each writes a report of its own. */
type Started = { processes: number };

async function runProcess(indices: number[], started: Started): Promise<ProcessOutcome> {
  const report = join(request.reportDir, `report-${started.processes++}.xml`);
  rmSync(report, { force: true });
  const child = Bun.spawn(
    [
      process.execPath,
      "test",
      "--isolate",
      "--preload",
      PRELOAD,
      "--reporter=junit",
      `--reporter-outfile=${report}`,
      ...indices.map(() => TEST_FILE),
    ],
    // stdin is the driver's own, a pipe read to its end, as the tests stage's is once its preload has read it.
    { stdio: ["inherit", "ignore", "ignore", "pipe", "pipe"] },
  );
  const sourcesFd = child.stdio[3] as unknown as number;
  const progressFd = child.stdio[4] as unknown as number;
  // Short lines, far below a pipe's buffer: written at once, read by each file's preload in turn.
  writeSync(sourcesFd, indices.map((index) => `${request.sources[index]}\n`).join(""));
  let began = 0;
  let timedOut = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const arm = (ms: number) => {
    clearTimeout(timer);
    timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, ms);
  };
  // bun's own start is no run's time: on a busy machine it alone can take longer than a run may.
  arm(request.perRunMs + STARTUP_MS);
  const progress = (async () => {
    for await (const chunk of Bun.file(progressFd).stream()) {
      for (const byte of chunk) {
        if (byte !== 0x0a) continue;
        began += 1;
        arm(request.perRunMs);
      }
    }
  })().catch(() => {});
  const exitCode = await child.exited;
  clearTimeout(timer);
  // The progress pipe ends with the process, unless something it started still holds it: read what is left, a
  // moment at most.
  await Promise.race([progress, Bun.sleep(1_000)]);
  let suites: Verdict[] | undefined;
  if (!timedOut) {
    try {
      suites = suiteVerdicts(readFileSync(report, "utf8"));
    } catch {
      suites = undefined;
    }
  }
  return { began, timedOut, exitCode, suites };
}

/** Each suite's verdict, in the order of the report: failed when a test failed or none ran. */
function suiteVerdicts(xml: string): Verdict[] {
  return [...xml.matchAll(/<testsuite\s[^>]*>/g)].map(([tag]) => {
    const attribute = (name: string) => Number(new RegExp(`\\s${name}="(\\d+)"`).exec(tag)?.[1] ?? Number.NaN);
    const tests = attribute("tests");
    const failures = attribute("failures");
    return Number.isFinite(tests) && Number.isFinite(failures) && tests > 0 && failures === 0 ? "passed" : "failed";
  });
}

function record(index: number | undefined, verdict: Verdict): void {
  if (index === undefined) return;
  writeSync(1, `${index} ${verdict}\n`);
}

/** Runs `indices` in as few processes as it can; every index ends with a verdict, unless bun never starts. */
async function runAll(indices: number[], started: Started): Promise<void> {
  let todo = indices;
  while (todo.length > 0) {
    const outcome = await runProcess(todo, started);
    const everyFileRan = !outcome.timedOut && outcome.began === todo.length;
    if (everyFileRan && outcome.suites?.length === todo.length) {
      for (const [at, index] of todo.entries()) record(index, outcome.suites[at] ?? "failed");
      return;
    }
    if (everyFileRan && todo.length === 1) {
      // Alone in its process, judged as its own process would be: its test file never loaded (bun wrote no suite for
      // it) or the process ended before its report; a non-zero exit is a failure, as for a test that failed.
      record(todo[0], outcome.exitCode === 0 ? "passed" : "failed");
      return;
    }
    if (everyFileRan) {
      // A file that did not load left no suite, so the report cannot be matched to the runs: each on its own.
      for (const index of todo) await runAll([index], started);
      return;
    }
    // bun never reached the first file: nothing is known, and nothing is counted as caught.
    if (outcome.began === 0) return;
    // Killed past its time, or the process ended early (a crash, or memory the earlier files left): the file running
    // then is caught if past its time, and otherwise run again alone, so a crash counts only when it is its own; the
    // others of this process run again.
    const culprit = outcome.began - 1;
    if (outcome.timedOut) record(todo[culprit], "timed-out");
    else await runAll(todo.slice(culprit, culprit + 1), started);
    todo = [...todo.slice(0, culprit), ...todo.slice(culprit + 1)];
  }
}

// One process at a time: a second one would pay bun's start and the first loads of zod and fast-check again, and the
// validation's other stages run beside this one.
await runAll(
  request.sources.map((_, index) => index),
  { processes: 0 },
);
process.exit(0);
