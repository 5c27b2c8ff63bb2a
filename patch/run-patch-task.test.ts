// runPatchTask in process, on the scripted model port and the real sandbox: hostile commands and the repair round.
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { scriptedModel } from "../llm/scripted-model.ts";
import { sandboxPolicy } from "../sandbox/sandbox-policy.ts";
import type { AuditEntry } from "../security/audit-log.ts";
import { checkoutState, tempGitRepo } from "../testing/temp-git-repo.ts";
import { parsePatchTask } from "./patch-task.ts";
import { runPatchTask } from "./run-patch-task.ts";
import { testSandboxAccess } from "../testing/test-sandbox.ts";

const TASK = '# Add a config\n\n```yaml\nprompt: "Add config.json"\noutputs: [config.json]\nguarantees: ["config.json is valid JSON"]\n```\n';

test("a link to /etc/passwd is refused as it is made, a stray file is told back after the turn and removed; the patch holds only the output", async () => {
  using repo = tempGitRepo("org-patch-run-");
  const before = checkoutState(repo.dir);
  const model = scriptedModel([
    { toolCalls: [{ name: "sh", arguments: { cmd: "echo '{\"a\": 1}' > config.json && ln -s /etc/passwd pw" } }] },
    { toolCalls: [{ name: "sh", arguments: { cmd: "ls; echo '{\"a\": 1}' > /workspace/config.json && echo x > stray.txt" } }] },
    { text: "feat: add config" },
    { toolCalls: [{ name: "sh", arguments: { cmd: "rm stray.txt" } }] },
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
    ...testSandboxAccess(sandboxPolicy({ poolSize: 0 })),
    secrets: [],
    signal: AbortSignal.timeout(60_000),
    progress: (line) => progress.push(line),
    audit: { record: (entry) => audit.push(entry) },
  });
  const told = (request: number) => model.requests[request]?.messages.at(-1)?.content ?? "";
  expect(told(1)).toContain('"pw": a link to "/etc/passwd", outside the workspace');
  // The refused change was not kept: the next command starts from the repository's files again.
  expect(told(2)).toContain("README.md\n");
  expect(told(2)).not.toContain("pw\n");
  expect(told(2)).toContain("kept for the patch: 2 files (+2 −0)");
  expect(told(3)).toContain('"stray.txt" was added, but it is not among the outputs (config.json). Delete it.');
  expect(outcome.kind).toBe("patch");
  if (outcome.kind !== "patch") return;
  expect(outcome.files.map((file) => [file.status, file.path])).toEqual([["added", "config.json"]]);
  expect(outcome.commitMessage).toBe("feat: add config.json\n\nIt holds a.\n\nTracking-Breadcrumb: JIRA-9");
  expect(outcome.diff.toString()).toContain('+{"a": 1}');
  expect(audit.map((entry) => [entry.tool, entry.breadcrumb])).toEqual([
    ["sh", "JIRA-9"],
    ["sh", "JIRA-9"],
    ["sh", "JIRA-9"],
  ]);
  expect(progress).toContain("repair round 1 of 2: the agent is told what broke");
  expect(checkoutState(repo.dir)).toBe(before);
  expect(readFileSync(join(repo.dir, "README.md"), "utf8")).toBe("a repo\n");
}, 60_000);
