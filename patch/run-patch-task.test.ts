// runPatchTask in process, on the scripted model port and the real sandbox: the repair round and hostile results.
import { expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { scriptedModel } from "../llm/scripted-model.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { checkoutState, tempGitRepo } from "../testing/temp-git-repo.ts";
import { parsePatchTask } from "./patch-task.ts";
import { runPatchTask } from "./run-patch-task.ts";

const TASK = '# Add a config\n\n```yaml\nprompt: "Add config.json"\noutputs: [config.json]\nguarantees: ["config.json is valid JSON"]\n```\n';

test("a result with a stray file and a link to /etc/passwd is told to the model, which repairs it; the patch holds only the output", async () => {
  using repo = tempGitRepo("org-patch-run-");
  // More files than scratch may hold in the room: the copy's own entries are on top of the bound.
  mkdirSync(join(repo.dir, "data"));
  for (let index = 0; index < 10; index += 1) writeFileSync(join(repo.dir, "data", `${index}.txt`), `${index}\n`);
  const before = checkoutState(repo.dir);
  const model = scriptedModel([
    { toolCalls: [{ name: "sh", arguments: { cmd: "echo '{\"a\": 1}' > config.json && echo x > stray.txt && ln -s /etc/passwd pw" } }] },
    { text: "feat: add config" },
    { toolCalls: [{ name: "sh", arguments: { cmd: "rm stray.txt pw" } }] },
    { text: "feat: add config.json\n\nIt holds a." },
  ]);
  const audit: AuditEntry[] = [];
  const progress: string[] = [];
  const outcome = await runPatchTask({
    task: parsePatchTask(TASK, "task.md", new Map()),
    repoDir: repo.dir,
    contextDir: repo.dir,
    model,
    breadcrumb: "JIRA-9",
    sandbox: sandboxPolicy({ poolSize: 0, limits: { scratchFiles: 5 } }),
    secrets: [],
    signal: AbortSignal.timeout(60_000),
    progress: (line) => progress.push(line),
    audit: { record: (entry) => audit.push(entry) },
  });
  // The sh the model is offered says where the copy is, not the room's /workspace.
  expect(model.requests[0]?.tools?.map((tool) => tool.function.name)).toEqual(["sh"]);
  expect(model.requests[0]?.tools?.[0]?.function.description).toContain("/scratch (also HOME), which holds a private copy of the repository");
  const repair = model.requests[2]?.messages.at(-1)?.content ?? "";
  expect(repair).toContain('"stray.txt" was added, but it is not among the outputs (config.json). Delete it.');
  expect(repair).toContain('"pw" is refused: a link to "/etc/passwd", outside the workspace');
  expect(outcome.kind).toBe("patch");
  if (outcome.kind !== "patch") return;
  expect(outcome.files.map((file) => [file.status, file.path])).toEqual([["added", "config.json"]]);
  expect(outcome.commitMessage).toBe("feat: add config.json\n\nIt holds a.\n\nTracking-Breadcrumb: JIRA-9");
  expect(outcome.diff.toString()).toContain('+{"a": 1}');
  expect(audit.map((entry) => [entry.tool, entry.breadcrumb])).toEqual([
    ["sh", "JIRA-9"],
    ["sh", "JIRA-9"],
  ]);
  expect(progress).toContain("repair round 1 of 2: the agent is told what broke");
  expect(checkoutState(repo.dir)).toBe(before);
  expect(readFileSync(join(repo.dir, "README.md"), "utf8")).toBe("a repo\n");
}, 60_000);
