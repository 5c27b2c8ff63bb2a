// `tool new` and `grow` run from a project put their branches (and merges) into org's own clone, as documented: each says
// so in one line where the user runs it, naming where the tool went, since a later `git pull` of org meets them.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type ScriptedServer, startScriptedServer } from "../../scripted-server/start-scripted-server.ts";
import { orgClone } from "../../testing/org-clone.ts";
import { scriptedToolsmithScript } from "../../testing/scripted-toolsmith.ts";
import { gitSync } from "../../testing/temp-git-repo.ts";
import { orgCloneNote } from "./org-clone-note.ts";

// A clone of org (no promoted tools, no test files: its gate has nothing to trace) and a project beside it.
const clone = orgClone("org-clone-note-", { withoutGeneratedTools: true, onlyTests: [] });
const project = mkdtempSync(join(tmpdir(), "org-clone-note-project-"));
chmodSync(project, 0o755);
let server: ScriptedServer;

// The project has no org.config.json: the default room (agent, python, toolsmith) and grow settings.
beforeAll(async () => {
  server = await startScriptedServer({ script: scriptedToolsmithScript() });
});
afterAll(async () => {
  await server?.stop();
  rmSync(project, { recursive: true, force: true });
  clone[Symbol.dispose]();
});

/** The clone's `bin/org ARGS`, run from the project as a user would after `npm link`. */
async function org(args: string[]) {
  const child = Bun.spawn([join(clone.dir, "bin", "org"), ...args], {
    cwd: project,
    env: { ...process.env, NO_COLOR: "1", OLLAMA_BASE: server.url, OLLAMA_MODEL: "scripted", ORG_EMBED_MODEL: "off" },
    stdout: "pipe",
    stderr: "pipe",
    stdin: "ignore",
  });
  const killer = setTimeout(() => child.kill("SIGKILL"), 240_000);
  const [stdout, stderr, code] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  clearTimeout(killer);
  return { stdout, stderr, code };
}

describe("the line that says a tool went to org's own clone", () => {
  test("said only when the repository is org's own and the user ran org outside it", () => {
    const note = orgCloneNote({ repoDir: clone.dir, from: project, went: "word_count's branch cand/20261126T000000Z", onMain: false }, clone.dir);
    expect(note).toBe(
      `note: word_count's branch cand/20261126T000000Z went to org's own clone ${clone.dir}, not to ${project} where you ran this; promoting it merges it into that clone's main, and a later 'git pull' of org there will then need a merge.`,
    );
    // Run inside the clone (its root or a folder of it), nothing is said: the branch is where the user is. tool new
    // hands it process.cwd(), which the next case shows is where org ran.
    expect(orgCloneNote({ repoDir: clone.dir, from: clone.dir, went: "x", onMain: false }, clone.dir)).toBeUndefined();
    expect(orgCloneNote({ repoDir: clone.dir, from: join(clone.dir, "docs"), went: "x", onMain: true }, clone.dir)).toBeUndefined();
    expect(orgCloneNote({ repoDir: project, from: clone.dir, went: "x", onMain: true }, clone.dir)).toBeUndefined();
  });

  test("tool new from a project names the branch and the clone, before its Try it line", async () => {
    const made = await org(["tool", "new", "--goal", "count the words in a text"]);
    expect(made.code).toBe(0);
    const branch = /^✓ branch (cand\/\d{8}T\d{6}Z) /m.exec(made.stderr)?.[1];
    expect(made.stderr.trimEnd().split("\n").at(-1)).toBe(
      `note: word_count's branch ${branch} went to org's own clone ${clone.dir}, not to ${project} where you ran this; promoting it merges it into that clone's main, and a later 'git pull' of org there will then need a merge.`,
    );
    expect(made.stdout).toStartWith(`word_count is on ${branch}. Try it: `);
    expect(gitSync(clone.dir, ["branch", "--list", branch as string]).trim()).toBe(branch as string);
  }, 240_000);

  test("grow from a project names each tool it built and the clone", async () => {
    const wished = await org(["chat", "--once", "/wish a tool that converts celsius to fahrenheit"]);
    expect(wished.code).toBe(0);
    const grown = await org(["grow", "--once", "--max-tools", "1", "--no-restart"]);
    expect(grown.code).toBe(0);
    const note = grown.stderr.split("\n").find((line) => line.startsWith("note: "));
    if (!note) throw new Error(`no note:\n${grown.stdout}\n${grown.stderr}`);
    expect(note).toMatch(
      new RegExp(
        `^note: celsius_to_fahrenheit \\(cand/\\d{8}T\\d{6}Z\\) went to org's own clone ${clone.dir}, not to ${project} where you ran this; promoting it merges it into that clone's main`,
      ),
    );
  }, 240_000);
});
