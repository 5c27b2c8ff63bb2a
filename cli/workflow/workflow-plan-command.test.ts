import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { runOrgProcess } from "../../testing/org-process.ts";
import { planRepo, planRule, repairRule } from "../../testing/plan-fixture.ts";
import { makeCandidate, writeFixtureTool } from "../../testing/promotion-fixture.ts";
import { gitSync } from "../../testing/temp-git-repo.ts";
import { CLAMP, toolsmithRules } from "../../testing/toolsmith-fixtures.ts";

const object = (properties: Record<string, unknown>) => ({ type: "object", properties, required: Object.keys(properties) });

const SQUARE = {
  name: "square of a number",
  inputs: object({ number: { type: "number" } }),
  steps: [{ id: "sq", tool: "square", inputs: { number: "$inputs.number" } }],
  output: { result: "$steps.sq.output.result" },
};
const WORDS_IN_ALL = {
  name: "words in all lines",
  inputs: object({ text: { type: "string" } }),
  steps: [
    { id: "split", tool: "split_lines", inputs: { text: "$inputs.text" } },
    { id: "count", tool: "word_count", foreach: "$steps.split.output.lines", inputs: { text: "$item" } },
    { id: "longest", tool: "max_of_list", inputs: { numbers: "$steps.count.output" } },
  ],
  output: { most: "$steps.longest.output.max" },
};
// The planner's first try feeds a list of objects where numbers are wanted; its repair collects the counts first.
const WORDS_FIXED = {
  ...WORDS_IN_ALL,
  steps: [
    WORDS_IN_ALL.steps[0],
    WORDS_IN_ALL.steps[1],
    { id: "words", tool: "word_count", inputs: { text: "$inputs.text" } },
    { id: "even", tool: "is_even", inputs: { number: "$steps.words.output.words" } },
    { id: "loud", tool: "shout", if_condition: "$steps.even.output.even", inputs: { text: "$inputs.text" } },
  ],
  output: { per_line: "$steps.count.output", even: "$steps.even.output.even", loud: "$steps.loud.output.text" },
};
const NESTED = {
  name: "lines and their words",
  inputs: object({ text: { type: "string" } }),
  steps: [
    { id: "per_line", workflow: "line-words.json", inputs: { text: "$inputs.text" } },
    { id: "vowels", tool: "count_vowels", inputs: { text: "$inputs.text" } },
  ],
  output: { per_line: "$steps.per_line.output.per_line", vowels: "$steps.vowels.output.vowels" },
};

// A goal no offered tool does: the first plan names the missing step; once the toolsmith built clamp_number on a
// candidate, the plan over that candidate uses it.
const CLAMPED = {
  name: "clamp a reading",
  inputs: object({ value: { type: "number" } }),
  steps: [{ id: "clamp", tool: "clamp_number", inputs: { value: "$inputs.value", min: 0, max: 10 } }],
  output: { clamped: "$steps.clamp.output.result" },
};
const CLAMP_MISSING = { ...CLAMPED, steps: [], missing: [{ id: "clamp", goal: CLAMP.goal }] };
// The same goal where the missing step is named as the tool a live candidate already holds.
const CLAMP_HELD = { ...CLAMPED, name: "clamp a sensor", steps: [], missing: [{ id: "clamp_number", goal: CLAMP.goal }] };

// A plan that nests line-words.json: saved under that very name it would run itself.
const NESTED_SELF = { ...NESTED, name: "line words again" };
// A plan that checks, and fails when it runs: repeat_text refuses no text, so the count of times is a literal the tool throws on.
const FAILING = {
  name: "fails",
  inputs: object({ text: { type: "string" } }),
  steps: [{ id: "rep", tool: "repeat_text", inputs: { text: "$inputs.text", times: -1 } }],
  output: { text: "$steps.rep.output.text" },
};

let server: Awaited<ReturnType<typeof startScriptedServer>>;
beforeAll(async () => {
  server = await startScriptedServer({
    port: 0,
    script: {
      models: ["scripted"],
      rules: [
        {
          when: { persona: "planner", lastMessage: '^Goal: clamp the reading[\\s\\S]*"name":"clamp_number"' },
          reply: { toolCalls: [{ name: "submit_workflow", arguments: CLAMPED }] },
        },
        planRule("clamp the reading", CLAMP_MISSING),
        {
          when: { persona: "planner", lastMessage: '^Goal: clamp the sensor[\\s\\S]*"name":"clamp_number"' },
          reply: { toolCalls: [{ name: "submit_workflow", arguments: { ...CLAMPED, name: "clamp a sensor" } }] },
        },
        planRule("clamp the sensor", CLAMP_HELD),
        ...toolsmithRules(CLAMP),
        planRule("calculate the square", SQUARE),
        repairRule("key inputs.numbers", WORDS_FIXED),
        planRule("the most words on a line", WORDS_IN_ALL),
        planRule("words per line and the vowels", NESTED),
        planRule("never plans", { name: "x" }),
        planRule("nest the words per line", NESTED_SELF),
        planRule("a failing run", FAILING),
        {
          when: { persona: "planner", lastMessage: "^Your workflow was refused[\\s\\S]*expected array" },
          reply: { toolCalls: [{ name: "submit_workflow", arguments: { name: "x" } }] },
        },
        { when: { persona: "planner", lastMessage: "^Goal: says no" }, reply: { text: "I would rather not." } },
        { when: { persona: "planner", lastMessage: "did not call submit_workflow" }, reply: { text: "Still no." } },
      ],
    },
  });
});
afterAll(() => server.stop());

const plan = (dir: string, args: string[]) =>
  runOrgProcess(["workflow", "plan", "--repo", dir, "--workspace", dir, ...args], {
    cwd: dir,
    env: { OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted" },
  });

describe("org workflow plan", () => {
  test("a one-step goal: planned, kept, run with --json; without --run, the plan and the command that runs it", async () => {
    using repo = planRepo();
    const ran = await plan(repo.dir, ["--goal", "calculate the square of 5", "--inputs", '{"number":5}', "--run", "--json"]);
    expect({ code: ran.exitCode, stderr: ran.stderr }).toEqual({ code: 0, stderr: "" });
    const line = JSON.parse(ran.stdout);
    expect(line).toMatchObject({ ok: true, output: { result: 25 }, rounds: 1, steps: [{ id: "sq", status: "done" }] });
    expect(line.workflow.steps).toEqual(SQUARE.steps);

    const shown = await plan(repo.dir, ["--goal", "calculate the square of 7", "--inputs", '{"number":7}']);
    expect(shown.exitCode).toBe(0);
    expect(JSON.parse(shown.stdout).steps).toEqual(SQUARE.steps);
    const command = /run it: (.*)$/m.exec(shown.stderr)?.[1] ?? "";
    expect(command).toMatch(/workflow run --plan \d{8}T\d{6}Z-[a-z0-9]{4} --inputs '\{"number":7\}'$/);
    const id = /--plan (\S+)/.exec(command)?.[1] ?? "";
    const again = await runOrgProcess(["workflow", "run", "--plan", id, "--inputs", '{"number":7}', "--json", "--workspace", repo.dir], {
      cwd: repo.dir,
    });
    expect({ code: again.exitCode, out: again.stdout }).toEqual({ code: 0, out: '{"result":49}\n' });
  });

  test("a three-step chain with a type error is repaired in the second round; foreach and if_condition run", async () => {
    using repo = planRepo();
    const ran = await plan(repo.dir, ["--goal", "the most words on a line", "--inputs", '{"text":"a b\\nc d e\\nf"}', "--run"]);
    expect(ran.exitCode).toBe(0);
    expect(ran.stderr).toContain("plan 1: refused (1 error(s))");
    expect(ran.stderr).toContain('step "longest", key inputs.numbers: array items: expected number, given object');
    expect(ran.stderr).toContain("plan 2: accepted");
    expect(ran.stderr).toMatch(/› count \(3 items\)/);
    expect(JSON.parse(ran.stdout)).toEqual({ per_line: [{ words: 2 }, { words: 3 }, { words: 1 }], even: true, loud: "A B\nC D E\nF" });
  });

  test("a nested saved workflow", async () => {
    using repo = planRepo();
    const ran = await plan(repo.dir, ["--goal", "words per line and the vowels", "--inputs", '{"text":"hello world\\nyes"}', "--run", "--json"]);
    expect(ran.exitCode).toBe(0);
    expect(JSON.parse(ran.stdout).output).toEqual({ per_line: [{ words: 2 }, { words: 1 }], vowels: 4 });
  });

  test("bad input is refused before any model is asked (exit 2); a planner that never calls: exit 3 after two asks", async () => {
    using repo = planRepo();
    const chats = () => server.requests.filter((request) => request.path === "/v1/chat/completions").length;
    const before = chats();
    for (const args of [
      ["--goal", "  "],
      ["--goal", "x".repeat(2_001)],
      ["--goal", "sq", "--inputs", "[1,2]"],
      ["--goal", "sq", "--inputs", "{nope"],
      ["--goal", "sq", "--save", "../x"],
    ]) {
      const refused = await plan(repo.dir, args);
      expect({ args, code: refused.exitCode }).toEqual({ args, code: 2 });
      expect(refused.stderr).not.toContain("    at ");
    }
    expect(chats()).toBe(before);
    const silent = await plan(repo.dir, ["--goal", "says no"]);
    expect(silent.exitCode).toBe(3);
    expect(silent.stderr).toContain("the planner never called submit_workflow");
    expect(chats() - before).toBe(2);
  });

  test("a plan that never checks: exit 1 with the errors of the last round", async () => {
    using repo = planRepo();
    const refused = await plan(repo.dir, ["--goal", "never plans", "--json"]);
    expect(refused.exitCode).toBe(1);
    const line = JSON.parse(refused.stdout);
    expect(line).toMatchObject({ ok: false, rounds: 3 });
    expect(line.errors[0].message).toContain("invalid arguments for submit_workflow");
  });

  test("a missing tool: named (exit 1); with --build the toolsmith makes it on a candidate, and the plan over it runs", async () => {
    using repo = planRepo();
    const missing = await plan(repo.dir, ["--goal", "clamp the reading", "--inputs", '{"value":15}', "--json"]);
    expect(missing.exitCode).toBe(1);
    const unplanned = JSON.parse(missing.stdout);
    expect(unplanned).toMatchObject({ ok: false, missing: [{ id: "clamp", goal: CLAMP.goal }], proposals: [{ step: "clamp", created: true }] });
    // Filed as a grow proposal (issue 51): the planner's words, a model's, with the person's goal quoted beside them;
    // unconfirmed until a person accepts it or grow.confirmSessions sessions (2) show it.
    const show = async () => {
      const shown = await runOrgProcess(["grow", "show", unplanned.proposals[0].proposal, "--json", "--workspace", repo.dir], { cwd: repo.dir });
      expect(shown.exitCode).toBe(0);
      return JSON.parse(shown.stdout);
    };
    const proposal = await show();
    expect(proposal).toMatchObject({ state: "unconfirmed", kind: "build", sources: { persona: 1 }, signals: { plan: 1 } });
    expect(proposal.sources.user).toBeUndefined();
    expect(proposal.evidence[0].quote).toStartWith(`planner: missing clamp: ${CLAMP.goal}`.slice(0, 60));
    expect(proposal.evidence[0].quote).toContain('for the goal "clamp the reading"; planned:');
    // Asked again, the need joins its proposal: seen in two plans, it is confirmed.
    const again = JSON.parse((await plan(repo.dir, ["--goal", "clamp the reading", "--inputs", '{"value":3}', "--json"])).stdout);
    expect(again.proposals).toEqual([{ step: "clamp", proposal: unplanned.proposals[0].proposal, created: false }]);
    expect(await show()).toMatchObject({ state: "pending", sessions: 2, sources: { persona: 2 } });
    const built = await plan(repo.dir, ["--goal", "clamp the reading", "--inputs", '{"value":15}', "--build", "--run", "--json"]);
    expect({ code: built.exitCode, stderr: built.stderr }).toEqual({ code: 0, stderr: "" });
    const line = JSON.parse(built.stdout);
    const branch: string = line.built?.[0] ?? "";
    expect(branch).toMatch(/^cand\/\d{8}T\d{6}Z$/);
    expect(line).toMatchObject({ ok: true, output: { clamped: 10 } });
    // The tool waits on its candidate branch; main is as it was.
    expect(gitSync(repo.dir, ["ls-tree", "--name-only", `${branch}:tools/generated`])).toContain("clamp_number");
    expect(gitSync(repo.dir, ["ls-tree", "--name-only", "main:tools/generated"])).not.toContain("clamp_number");
    // Saved over that candidate, one new candidate carries the workflow and the tool it needs, for the gate to judge whole.
    const saved = JSON.parse(
      (await plan(repo.dir, ["--goal", "clamp the reading", "--inputs", '{"value":-4}', "--ref", branch, "--save", "clamp-reading", "--json"]))
        .stdout,
    );
    expect(saved).toMatchObject({ ok: true, output: { clamped: 0 }, saved: { file: "workflows/clamp-reading.json" } });
    const carried = gitSync(repo.dir, [
      "ls-tree",
      "-r",
      "--name-only",
      saved.saved.branch,
      "--",
      "tools/generated/clamp_number",
      "workflows/clamp-reading.json",
    ]);
    expect(carried.split("\n").filter(Boolean).sort()).toEqual([
      "tools/generated/clamp_number/metadata.json",
      "tools/generated/clamp_number/tool.test.ts",
      "tools/generated/clamp_number/tool.ts",
      "workflows/clamp-reading.json",
    ]);
  }, 120_000);

  test("--build plans with a live candidate's tool of a missing step's name, and says so, rather than build it again", async () => {
    using repo = planRepo();
    const branch = "cand/20261123T101500Z";
    makeCandidate(repo.dir, branch, (worktree) => writeFixtureTool(worktree, CLAMP));
    const args = ["--goal", "clamp the sensor", "--inputs", '{"value":15}'];
    const noted = await plan(repo.dir, args);
    expect(noted.exitCode).toBe(1);
    expect(noted.stderr).toContain(`note: clamp_number is not promoted, but candidate ${branch} has it; --build plans with it (or --ref ${branch})`);
    const built = await plan(repo.dir, [...args, "--build", "--run"]);
    expect({ code: built.exitCode, stdout: JSON.parse(built.stdout) }).toEqual({ code: 0, stdout: { clamped: 10 } });
    expect(built.stderr).toContain(`note: uses clamp_number from candidate ${branch}, not yet promoted`);
    expect(built.stderr).toContain(`the plan uses tools on ${branch}; promote them to keep it`);
    // Nothing was built: no toolsmith run, no other candidate.
    expect(built.stderr).not.toContain("building");
    expect(gitSync(repo.dir, ["branch", "--list", "cand/*", "--format=%(refname:short)"]).trim()).toBe(branch);
  }, 120_000);

  test("before any model: a --ref that is no branch, a --repo that is no checkout, a --workspace that is no folder; --plan of a malformed id", async () => {
    using repo = planRepo();
    const chats = () => server.requests.filter((request) => request.path === "/v1/chat/completions").length;
    const before = chats();
    const noBranch = await plan(repo.dir, ["--goal", "calculate the square", "--ref", "cand/20991231T000000Z"]);
    expect({ code: noBranch.exitCode, says: noBranch.stderr.includes("no branch cand/20991231T000000Z") }).toEqual({ code: 1, says: true });
    const noRepo = await runOrgProcess(["workflow", "plan", "--goal", "x", "--repo", join(repo.dir, "tools")], {
      cwd: repo.dir,
      env: { OLLAMA_BASE: server.url },
    });
    expect({ code: noRepo.exitCode, says: noRepo.stderr.includes("is not a git checkout") }).toEqual({ code: 1, says: true });
    const noWorkspace = await runOrgProcess(["workflow", "plan", "--goal", "x", "--repo", repo.dir, "--workspace", join(repo.dir, "nope")], {
      cwd: repo.dir,
      env: { OLLAMA_BASE: server.url },
    });
    expect({ code: noWorkspace.exitCode, says: noWorkspace.stderr.includes("is not a folder"), made: existsSync(join(repo.dir, "nope")) }).toEqual({
      code: 1,
      says: true,
      made: false,
    });
    expect(existsSync(join(repo.dir, "tools", ".org"))).toBe(false);
    expect(chats()).toBe(before);
    const malformed = await runOrgProcess(["workflow", "run", "--plan", "../../etc/passwd", "--workspace", repo.dir], { cwd: repo.dir });
    expect(malformed.exitCode).toBe(2);
  });

  test("--save refuses a name the plan would run itself by; --json says a failed run in its one line", async () => {
    using repo = planRepo();
    const selfNesting = await plan(repo.dir, ["--goal", "nest the words per line", "--inputs", '{"text":"a"}', "--save", "line-words"]);
    expect(selfNesting.exitCode).toBe(1);
    expect(selfNesting.stderr).toContain("--save line-words: the plan would run itself (a cycle of workflows: line-words.json → line-words.json)");
    expect(gitSync(repo.dir, ["for-each-ref", "refs/heads/cand/"])).toBe("");
    const failed = await plan(repo.dir, ["--goal", "a failing run", "--inputs", '{"text":"a"}', "--run", "--json"]);
    expect(failed.exitCode).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ ok: false, failure: expect.stringContaining("its run failed") });
  });
});
