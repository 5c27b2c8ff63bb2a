import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { RepoGit } from "../git/repo-git.ts";
import { gitSync, tempGitRepo } from "../testing/temp-git-repo.ts";
import { checkWorkflowScenarios } from "./workflow-scenarios.ts";

// The gate's judgement of the workflows a candidate brings, against two stand-in instances on 127.0.0.1 that answer
// POST /v1/workflows/<name>/run as the test says: what is judged, and by which examples, is the gate's own.
const object = { type: "object", properties: { text: { type: "string" } }, required: ["text"] };
const workflow = (name: string, extra: Record<string, unknown> = {}) =>
  JSON.stringify({
    name,
    inputs: object,
    steps: [{ id: "s", tool: "shout", inputs: { text: "$inputs.text" } }],
    output: { text: "$steps.s.output.text" },
    ...extra,
  });
const example = (text: string, output: unknown) => ({ inputs: { text }, output });

/** A stand-in instance: each workflow's answer to an input text. */
function instance(answers: Record<string, (text: string) => unknown>) {
  const server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(request) {
      const name = /^\/v1\/workflows\/([^/]+)\/run$/.exec(new URL(request.url).pathname)?.[1] ?? "";
      const answer = answers[decodeURIComponent(name)];
      if (!answer) return Response.json({ error: "no such workflow" }, { status: 404 });
      const body = (await request.json()) as { inputs: { text: string } };
      return Response.json({ ok: true, output: answer(body.inputs.text) });
    },
  });
  return { port: server.port ?? 0, [Symbol.dispose]: () => server.stop(true) };
}

/** main with `files`, then a candidate commit on it changing `changes`: the repository (removed when disposed), main and the candidate. */
function repoWith(files: Record<string, string>, changes: Record<string, string>) {
  const repo = tempGitRepo("org-workflow-scenarios-");
  const write = (all: Record<string, string>) => {
    mkdirSync(join(repo.dir, "workflows"), { recursive: true });
    for (const [file, text] of Object.entries(all)) writeFileSync(join(repo.dir, "workflows", file), text);
    gitSync(repo.dir, ["add", "-A"]);
    gitSync(repo.dir, ["commit", "--quiet", "-m", "workflows"]);
    return gitSync(repo.dir, ["rev-parse", "HEAD"]).trim();
  };
  const main = write(files);
  const commit = write(changes);
  gitSync(repo.dir, ["update-ref", "refs/heads/main", main]);
  return { dir: repo.dir, main, commit, [Symbol.dispose]: () => repo[Symbol.dispose]() };
}

/** The gate's checks of `commit` (the candidate, by default) against main, on the two stand-in instances. */
const judge = (made: ReturnType<typeof repoWith>, candidate: { port: number }, current: { port: number }, commit = made.commit) =>
  checkWorkflowScenarios(new RepoGit(made.dir), {
    main: made.main,
    base: made.main,
    commit,
    candidatePort: candidate.port,
    currentPort: current.port,
    timeoutMs: 5_000,
  });

const loud = (text: string) => ({ text: text.toUpperCase() });

describe("the gate's workflow scenarios", () => {
  test("a changed workflow must pass every example it brings, whatever main's examples do on both", async () => {
    using made = repoWith({ "a.json": workflow("a") }, { "a.json": workflow("a", { examples: [example("hi", { text: "HI" })] }) });
    using candidate = instance({ a: () => ({ text: "wrong" }) });
    using current = instance({ a: loud });
    const checks = await judge(made, candidate, current);
    expect(checks).toEqual([
      expect.objectContaining({ name: "workflow a", ok: false, reason: expect.stringContaining("passes 0 of the 1 example(s) it brings") }),
    ]);
  });

  test("a workflow that nests the changed one is judged by its own examples on both; a cycle fails; a good change passes", async () => {
    const nesting = JSON.stringify({
      name: "b",
      inputs: object,
      steps: [{ id: "inner", workflow: "a.json", inputs: { text: "$inputs.text" } }],
      output: "$steps.inner.output",
      examples: [example("x", { text: "X" })],
    });
    const good = workflow("a", { examples: [example("hi", { text: "HI" })] });
    using made = repoWith({ "a.json": workflow("a"), "b.json": nesting }, { "a.json": good });
    using candidate = instance({ a: loud, b: () => ({ text: "broken" }) });
    using current = instance({ a: loud, b: loud });
    const checks = await judge(made, candidate, current);
    expect(checks.map((check) => [check.name, check.ok])).toEqual([
      ["workflow a", true],
      ["workflow b", false],
    ]);
    expect(checks[1]?.reason).toContain("nests a workflow the candidate changes, and passes 0 of its 1 example(s), fewer than current's 1");

    // The candidate makes a nest itself through b: refused before anything runs.
    writeFileSync(
      join(made.dir, "workflows", "a.json"),
      JSON.stringify({
        ...JSON.parse(good),
        steps: [{ id: "back", workflow: "b.json", inputs: { text: "$inputs.text" } }],
        output: "$steps.back.output",
      }),
    );
    gitSync(made.dir, ["commit", "--quiet", "-am", "a cycle"]);
    const cyclic = gitSync(made.dir, ["rev-parse", "HEAD"]).trim();
    const [cycle] = await judge(made, candidate, current, cyclic);
    expect(cycle).toMatchObject({
      name: "workflow a",
      ok: false,
      reason: "workflows/a.json would run itself: a cycle of workflows a.json → b.json → a.json",
    });
  });

  test("a workflow that brings no example, and main has none: nothing to judge it by", async () => {
    using made = repoWith({ "other.json": workflow("other") }, { "a.json": workflow("a") });
    using candidate = instance({ a: loud });
    using current = instance({});
    const [check] = await judge(made, candidate, current);
    expect(check).toMatchObject({ ok: false, reason: expect.stringContaining("brings no examples") });
  });
});
