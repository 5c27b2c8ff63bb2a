import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { readSandboxFile, SandboxFileError } from "../sandbox/read-sandbox-file.ts";
import { runInTestSandbox } from "../testing/test-sandbox.ts";
import { CLAMP } from "../testing/toolsmith-fixtures.ts";
import { makeMutants } from "./mutants.ts";
import { mutantsStage, readRunnerOutcomes, runnerStage, testsStage, typecheckStage, validationDirs } from "./sandbox-stages.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const access = testSandboxAccess();
const root = mkdtempSync(join(tmpdir(), "org-sandbox-stages-"));
chmodSync(root, 0o755); // the sandbox uid passes through it when org runs as root
afterAll(() => rmSync(root, { recursive: true, force: true }));

// A host folder with a file a planted link would reach: what a sandbox must never get the host to read.
const hostSecrets = join(root, "host-secrets");
mkdirSync(hostSecrets);
writeFileSync(join(hostSecrets, "shadow"), "root:$6$secret-hash:19000:0:99999:7:::\n");
writeFileSync(join(hostSecrets, "lcov.info"), "SF:/org/tool/tool.ts\nLF:10\nLH:10\nend_of_record\n");

const hostile = (scratchDir: string, script: string) => runInTestSandbox({ argv: ["/bin/sh", "-c", script], scratchDir, timeoutMs: 20_000 });
const errorOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return error;
  }
  return undefined;
};

describe("reading back what a sandbox wrote (real sandbox)", () => {
  test("links, FIFOs, folders and files past the limit are refused at once, through the open handle", async () => {
    const scratch = join(root, "scratch-read");
    const made = await hostile(
      scratch,
      `echo fine > ok.txt; mkfifo fifo; ln -s ${hostSecrets}/shadow link; ln -s ${hostSecrets} dirlink; mkdir dir; head -c 5000000 /dev/zero > big`,
    );
    expect(made.exitCode).toBe(0);
    expect(readSandboxFile(scratch, "ok.txt", 100)?.toString()).toBe("fine\n");
    expect(readSandboxFile(scratch, "missing", 100)).toBeUndefined();
    const reasons = Object.fromEntries(
      ["fifo", "link", "dirlink/shadow", "dir", "big"].map((name) => {
        const error = errorOf(() => readSandboxFile(scratch, name, 1_000_000));
        expect(error).toBeInstanceOf(SandboxFileError);
        return [name, (error as Error).message];
      }),
    );
    expect(reasons).toEqual({
      fifo: "fifo is a FIFO, not a regular file; it was not read",
      link: "link: it is a symbolic link; links are not followed, it was not read",
      "dirlink/shadow": "dirlink/shadow: dirlink is a symbolic link; links are not followed, it was not read",
      dir: "dir is a folder, not a regular file; it was not read",
      big: "big holds 5000000 bytes, more than the 1000000 allowed; it was not read",
    });
  }, 60_000);

  test("the examples stage fails a result file swapped for a FIFO or a link, and one too big, with the reason", async () => {
    const dirs = validationDirs(join(root, "run-results"));
    // Written to disk directly, past the static policy: it answers with 5 MB for "big".
    writeFileSync(
      join(dirs.tool, "tool.ts"),
      `export default (input: { text: string }) => ({ text: input.text === "big" ? "x".repeat(5_000_000) : input.text });\n`,
    );
    const schema = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
    const [first] = await runnerStage(dirs, access, schema, [{ text: "a" }, { text: "b" }, { text: "c" }, { text: "big" }], 1, 5_000);
    expect(first?.slice(0, 3)).toEqual([
      { ok: true, output: { text: "a" } },
      { ok: true, output: { text: "b" } },
      { ok: true, output: { text: "c" } },
    ]);
    expect(first?.[3]).toMatchObject({
      ok: false,
      error: expect.stringMatching(/^the tool's result file out\/r0e03\.json holds \d+ bytes, more than the 4194304 allowed/),
    });

    // What a tool that escaped both the policy and the runner's second layer did to its neighbours' results.
    const swapped = await hostile(
      dirs.scratch,
      `cd out && rm r0e00.json r0e01.json r0e02.json && mkfifo r0e00.json && ln -s ${hostSecrets}/shadow r0e01.json && mkdir r0e02.json`,
    );
    expect(swapped.exitCode).toBe(0);
    const markers = [
      [0, 1, 2].map((index) => (JSON.parse(readFileSync(join(dirs.requests, `r0e0${index}.json`), "utf8")) as { marker: string }).marker),
    ];
    expect(readRunnerOutcomes(dirs, markers)).toEqual([
      [
        { ok: false, error: "the tool's result file out/r0e00.json is a FIFO, not a regular file; it was not read" },
        { ok: false, error: "the tool's result file out/r0e01.json: it is a symbolic link; links are not followed, it was not read" },
        { ok: false, error: "the tool's result file out/r0e02.json is a folder, not a regular file; it was not read" },
      ],
    ]);
  }, 120_000);

  test("the runner's later rounds run only when every call of the first gave a result", async () => {
    const dirs = validationDirs(join(root, "run-rounds"));
    writeFileSync(
      join(dirs.tool, "tool.ts"),
      `export default (input: { text: string }) => { if (input.text === "bad") throw new Error("no"); return { text: input.text }; };\n`,
    );
    const schema = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
    const good = await runnerStage(dirs, access, schema, [{ text: "a" }, { text: "b" }], 3, 5_000);
    expect(good).toEqual(
      [0, 1, 2].map(() => [
        { ok: true, output: { text: "a" } },
        { ok: true, output: { text: "b" } },
      ]),
    );
    const bad = await runnerStage(dirs, access, schema, [{ text: "a" }, { text: "bad" }], 3, 5_000);
    expect(bad[0]).toEqual([
      { ok: true, output: { text: "a" } },
      { ok: false, error: "the tool threw: no" },
    ]);
    const skipped = { ok: false as const, error: "the tool ended without a result (killed, crashed or timed out)" };
    expect(bad.slice(1)).toEqual([
      [skipped, skipped],
      [skipped, skipped],
    ]);
  }, 60_000);

  test("a call or two that gave no result (bun late on a busy machine) run once more, alone, and that run decides; a tool that always hangs still fails", async () => {
    const dirs = validationDirs(join(root, "run-retry"));
    // Blocked, so not even the runner's own timer can end it, when called in the next five seconds (the first call): the
    // outer kill ends it with no result, as when bun starts late on a busy machine. Called later, it answers. It blocks
    // in Atomics.wait rather than spinning: the same for the runner, and no core burnt for the seconds it waits.
    const until = Date.now() + 5_000;
    writeFileSync(
      join(dirs.tool, "tool.ts"),
      `const block = (ms: number) => Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);\n` +
        "export default (input: { text: string }) => {\n" +
        `  if (input.text === "late" && Date.now() < ${until}) block(${until} - Date.now());\n` +
        "  return { text: input.text };\n};\n",
    );
    const schema = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
    const rounds = await runnerStage(dirs, access, schema, [{ text: "a" }, { text: "late" }], 3, 1_000);
    expect(rounds).toEqual([0, 1, 2].map(() => ["a", "late"].map((text) => ({ ok: true, output: { text } }))));

    writeFileSync(join(dirs.tool, "tool.ts"), "export default () => { Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0); };\n");
    const hangs = await runnerStage(dirs, access, schema, [{ text: "a" }], 3, 1_000);
    expect(hangs[0]).toEqual([{ ok: false, error: "the tool ended without a result (killed, crashed or timed out)" }]);
  }, 90_000);

  test("each run of each round is a process of its own: a tool that counts its calls in memory answers 1 to every one", async () => {
    const dirs = validationDirs(join(root, "run-fresh"));
    writeFileSync(
      join(dirs.tool, "tool.ts"),
      `let calls = 0;\nexport default (input: { text: string }) => ({ text: input.text, calls: ++calls });\n`,
    );
    const schema = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
    const rounds = await runnerStage(dirs, access, schema, [{ text: "a" }, { text: "b" }, { text: "c" }], 3, 5_000);
    expect(rounds).toEqual([0, 1, 2].map(() => ["a", "b", "c"].map((text) => ({ ok: true, output: { text, calls: 1 } }))));
  }, 60_000);

  test("the tests stage does not follow a coverage folder the tests turned into a link to the host", async () => {
    const dirs = validationDirs(join(root, "run-coverage"));
    writeFileSync(join(dirs.tool, "tool.ts"), `export default (n: number) => n + 1;\n`);
    // Past the policy: before bun writes its report, /scratch/coverage becomes a link to a host folder.
    writeFileSync(
      join(dirs.tool, "tool.test.ts"),
      `import { expect, test } from "bun:test";\nimport { mkdirSync, rmSync, symlinkSync } from "node:fs";\nimport next from "./tool.ts";\nrmSync("/scratch/coverage", { recursive: true, force: true });\nsymlinkSync(${JSON.stringify(hostSecrets)}, "/scratch/coverage");\ntest("adds one", () => expect(next(1)).toBe(2));\n`,
    );
    const result = await testsStage(dirs, access, 20_000);
    expect(result.coverage).toBe(0);
    expect(result.unreadable).toBe("the coverage report coverage/lcov.info: coverage is a symbolic link; links are not followed, it was not read");
  }, 60_000);
});

describe("the typecheck (real sandbox)", () => {
  const check = (name: string, tool: string, tests: string) => {
    const dirs = validationDirs(join(root, name));
    writeFileSync(join(dirs.tool, "tool.ts"), tool);
    writeFileSync(join(dirs.tool, "tool.test.ts"), tests);
    return typecheckStage(dirs, access);
  };

  test("passes a tool and tests that type, and fails a type error in either, naming the file", async () => {
    expect(await check("types-fine", CLAMP.tool, CLAMP.tests)).toMatchObject({ ok: true });
    const inTool = await check("types-tool", CLAMP.tool.replace("export default", 'const wrong: number = "text";\nexport default'), CLAMP.tests);
    expect(inTool).toMatchObject({ ok: false, onlyTests: false });
    expect(inTool.output).toMatch(/tool\.ts\(\d+,\d+\): error TS2322/);
    const inTests = await check("types-tests", CLAMP.tool, `${CLAMP.tests}\nconst wrong: string = 5;\n`);
    expect(inTests).toMatchObject({ ok: false, onlyTests: true });
    expect(inTests.output).toMatch(/tool\.test\.ts\(\d+,\d+\): error TS2322/);
  }, 60_000);
});

describe("mutants run where the tool runs (real sandbox)", () => {
  // Written to disk directly, past the policy: it asserts nothing about what the tool returns, only about where
  // its code and the tool's run, and so "catches" a mutant only if a mutant runs somewhere else.
  const CHEAT = `import { expect, test } from "bun:test";
import { readFileSync, readlinkSync } from "node:fs";
import clamp from "./tool.ts";
test("where it runs", () => {
  let thrown = "";
  try { clamp({ value: 1, min: 2, max: 0 }); } catch (error) { thrown = String((error as Error).stack); }
  const parent = readFileSync("/proc/self/stat", "utf8").split(") ")[1]?.split(" ")[1];
  const proc = [readlinkSync("/proc/self/fd/0"), readFileSync("/proc/self/cmdline", "utf8"), readFileSync(\`/proc/\${parent}/cmdline\`, "utf8")];
  const where = [String(new Error().stack), thrown, import.meta.path, import.meta.dir, process.cwd(), JSON.stringify(process.env), Bun.main, ...proc].join(" ");
  expect(where.includes("/org/tool/")).toBe(true);
  expect(where.includes("mutant")).toBe(false);
});
`;

  test("a test that checks its own path, the tool's stack, cwd, env, stdin or parent process kills no mutant; real tests still kill them", async () => {
    const dirs = validationDirs(join(root, "run-mutants"));
    writeFileSync(join(dirs.tool, "tool.ts"), CLAMP.tool);
    writeFileSync(join(dirs.tool, "tool.test.ts"), CHEAT);
    // It passes on the real tool.
    expect(await testsStage(dirs, access, 20_000)).toMatchObject({ ok: true, passed: 1 });
    const mutants = makeMutants(CLAMP.tool, 6);
    expect(mutants.length).toBe(6);
    const cheat = await mutantsStage(dirs, access, mutants, 20_000);
    expect(cheat).toMatchObject({ total: 6, killed: 0 });
    writeFileSync(join(dirs.tool, "tool.test.ts"), CLAMP.tests);
    const real = await mutantsStage(dirs, access, mutants, 20_000);
    expect(real.killed).toBeGreaterThanOrEqual(4);
  }, 180_000);

  test("the tests see the same environment, arguments, folder and stdin in the tests stage and in a mutant's run", async () => {
    const dirs = validationDirs(join(root, "run-same-process-view"));
    writeFileSync(join(dirs.tool, "tool.ts"), "export default (n: number) => n + 1;\n");
    // Past the policy: writes what it can see of its process into scratch, once per run.
    writeFileSync(
      join(dirs.tool, "tool.test.ts"),
      `import { expect, test } from "bun:test";\nimport { readlinkSync, writeFileSync } from "node:fs";\nimport next from "./tool.ts";\ntest("sees", () => {\n  expect(next(1)).toBe(2);\n  const view = { env: process.env, cwd: process.cwd(), argv: process.argv, execArgv: process.execArgv, main: Bun.main, path: import.meta.path, stdin: readlinkSync("/proc/self/fd/0").replace(/[0-9]+/, "N") };\n  writeFileSync(\`/scratch/view-\${crypto.randomUUID()}.json\`, JSON.stringify(view));\n});\n`,
    );
    expect(await testsStage(dirs, access, 20_000)).toMatchObject({ ok: true, passed: 1 });
    const copies = [0, 1, 2].map((index) => ({ description: `copy ${index}`, code: "export default (n: number) => n + 1;\n" }));
    expect(await mutantsStage(dirs, access, copies, 20_000)).toMatchObject({ total: 3, killed: 0, bounded: false });
    const views = (scratch: string) =>
      readdirSync(scratch)
        .filter((name) => name.startsWith("view-"))
        .map((name) => readFileSync(join(scratch, name), "utf8"));
    const [tests] = views(dirs.stageScratch.tests);
    expect(JSON.parse(tests ?? "{}")).toMatchObject({ cwd: "/org/tool", path: "/org/tool/tool.test.ts", stdin: "pipe:[N]" });
    expect(tests).toBeDefined();
    expect(views(dirs.stageScratch.mutants)).toEqual([tests ?? "", tests ?? "", tests ?? ""]);
  }, 120_000);

  test("the tests stage runs the tool through the same path and still measures its coverage", async () => {
    const dirs = validationDirs(join(root, "run-coverage-real"));
    writeFileSync(join(dirs.tool, "tool.ts"), CLAMP.tool);
    writeFileSync(join(dirs.tool, "tool.test.ts"), CLAMP.tests);
    const result = await testsStage(dirs, access, 20_000);
    expect(result).toMatchObject({ ok: true, failed: 0, unreadable: undefined });
    expect(result.coverage).toBeGreaterThan(0.8);
  }, 60_000);

  test("in the tests stage too, a tool past the policy finds no Bun, process, fetch or Function constructor, and may import only zod", async () => {
    const dirs = validationDirs(join(root, "run-withheld"));
    writeFileSync(
      join(dirs.tool, "tool.ts"),
      `import { z } from "zod";\nconst compile = (make: () => unknown) => { try { make(); return "compiled"; } catch { return "refused"; } };\nexport default async () => [typeof Bun, typeof process, typeof fetch, typeof globalThis, typeof Function, compile(() => ((() => 0) as any).constructor("return 1")), compile(() => new (z as any).core.Doc([]).compile())].join(" ");\n`,
    );
    writeFileSync(
      join(dirs.tool, "tool.test.ts"),
      `import { expect, test } from "bun:test";\nimport probe from "./tool.ts";\ntest("withheld", async () => expect(await probe()).toBe("undefined undefined undefined undefined undefined refused refused"));\n`,
    );
    expect(await testsStage(dirs, access, 20_000)).toMatchObject({ ok: true, passed: 1 });
    writeFileSync(join(dirs.tool, "tool.ts"), `import { readFileSync } from "node:fs";\nexport default () => readFileSync("/etc/passwd", "utf8");\n`);
    const refused = await testsStage(dirs, access, 20_000);
    expect(refused.ok).toBe(false);
    expect(refused.output).toContain('tool.ts may import only zod, not "node:fs"');
  }, 60_000);
});

describe("each mutant's run is on its own (real sandbox)", () => {
  // Written to disk directly, past the policy. The tests judge the tool and also the world it leaves: a run that sees
  // a global, prototype or module another run changed fails.
  const TOOL = `import { z } from "zod";\nexport default (n: unknown) => z.number().parse(n) + 1;\n`;
  const TESTS = `import { expect, test } from "bun:test";
import { appendFileSync } from "node:fs";
import next from "./tool.ts";
test("adds one", () => {
  appendFileSync("/scratch/pids", \`\${process.pid}\\n\`);
  expect(next(1)).toBe(2);
  expect(() => next("a")).toThrow();
});
test("the world is as bun made it", () => {
  expect([1, 2].includes(3)).toBe(false);
  expect(Math.max(1, 2)).toBe(2);
  expect(({} as Record<string, unknown>).leaked).toBeUndefined();
  expect((Math as unknown as Record<string, unknown>).counter).toBeUndefined();
});
`;
  const correct = { description: "a faithful copy", code: TOOL };
  // Each changes what a later run could see, and so fails its own tests.
  const leaky = {
    description: "leaks",
    code: `import { z } from "zod";
Array.prototype.includes = () => true;
(Object.prototype as Record<string, unknown>).leaked = true;
(Math as unknown as Record<string, unknown>).counter = 1;
export default (n: unknown) => z.number().parse(n) + 1;
`,
  };
  const patchesZod = {
    description: "patches zod",
    code: TOOL.replace("export default", "Object.getPrototypeOf(z.number()).parse = () => 0;\nexport default"),
  };
  const looping = { description: "loops", code: `export default (n: number) => { while (n === n) n += 0; return n; };\n` };
  const brokenAtLoad = { description: "throws as it loads", code: `throw new Error("broken");\nexport default (n: number) => n;\n` };
  const wrong = { description: "adds two", code: TOOL.replace("+ 1", "+ 2") };
  // Also breaks what bun needs to report its own file, which then leaves no suite in the report.
  const reportBreaking = {
    description: "breaks the report",
    code: leaky.code.replace("export default", "Object.getPrototypeOf(z.number()).parse = () => 0;\nexport default"),
  };

  const setUp = (name: string) => {
    const dirs = validationDirs(join(root, name));
    writeFileSync(join(dirs.tool, "tool.ts"), TOOL);
    writeFileSync(join(dirs.tool, "tool.test.ts"), TESTS);
    return dirs;
  };
  const pids = (dirs: ReturnType<typeof validationDirs>) => readFileSync(join(dirs.stageScratch.mutants, "pids"), "utf8").trim().split("\n");

  test("a mutant that patches globals, prototypes and zod changes no other mutant's verdict, in the same warm process", async () => {
    const dirs = setUp("run-leaks");
    expect(await testsStage(dirs, access, 20_000)).toMatchObject({ ok: true, passed: 2 });
    // In one warm process: the ones that leak first, then faithful copies.
    const result = await mutantsStage(dirs, access, [leaky, patchesZod, correct, correct, correct, correct], 20_000);
    expect(result).toMatchObject({ total: 6, killed: 2, survivors: ["a faithful copy", "a faithful copy", "a faithful copy", "a faithful copy"] });
    // Every faithful copy ran (a leaky run may fail before it writes), all in one process: the isolation is bun's
    // fresh global object and module registry per file, not a process each.
    expect(pids(dirs).length).toBeGreaterThanOrEqual(4);
    expect(new Set(pids(dirs)).size).toBe(1);
  }, 120_000);

  test("a run that ends its process early is judged alone by its exit, as a process of its own was; the others keep their verdicts", async () => {
    const dirs = validationDirs(join(root, "run-exits"));
    writeFileSync(join(dirs.tool, "tool.ts"), "export default (n: number) => n + 1;\n");
    // Past the policy: the tests end the whole process on some answers, with 3 (a crash) or with 0.
    writeFileSync(
      join(dirs.tool, "tool.test.ts"),
      `import { expect, test } from "bun:test";\nimport next from "./tool.ts";\ntest("adds one", () => {\n  const got = next(1);\n  if (got === 3) process.exit(3);\n  if (got === 4) process.exit(0);\n  expect(got).toBe(2);\n});\n`,
    );
    const copy = { description: "a faithful copy", code: "export default (n: number) => n + 1;\n" };
    const crashes = { description: "ends with 3", code: "export default (n: number) => n + 2;\n" };
    const endsCleanly = { description: "ends with 0", code: "export default (n: number) => n + 3;\n" };
    const result = await mutantsStage(dirs, access, [copy, crashes, copy, endsCleanly, copy], 20_000);
    expect(result).toMatchObject({ total: 5, killed: 1, survivors: ["a faithful copy", "a faithful copy", "ends with 0", "a faithful copy"] });
  }, 120_000);

  test("a mutant that loops is killed past its time and caught; one that throws as it loads or breaks bun's report is caught; the others keep their verdicts", async () => {
    const dirs = setUp("run-loops");
    const result = await mutantsStage(dirs, access, [correct, correct, looping, wrong, brokenAtLoad, correct, wrong, reportBreaking, correct], 2_000);
    expect(result).toMatchObject({ total: 9, killed: 5, survivors: ["a faithful copy", "a faithful copy", "a faithful copy", "a faithful copy"] });
    // The time bound decided a verdict (the looping one's), so a run under a larger bound could end otherwise.
    expect(result.bounded).toBe(true);
  }, 120_000);
});
