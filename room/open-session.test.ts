import { afterEach, expect, test } from "bun:test";
import { appendFileSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { loadOrgConfig } from "../config/org-config.ts";
import { OrgConfigError } from "../config/org-config-error.ts";
import { createPersona } from "../personas/create-persona.ts";
import { Budget } from "../security/budget.ts";
import { startSession } from "./open-session.ts";
import { Transcript } from "./transcript.ts";
import { scriptedModel } from "../llm/scripted-model.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

function setup(mode?: string) {
  const workspaceDir = mkdtempSync(join(tmpdir(), "org-session-"));
  dirs.push(workspaceDir);
  const config = loadOrgConfig(join(workspaceDir, "org.config.json"), { OLLAMA_BASE: "http://127.0.0.1:9", OLLAMA_MODEL: "qwen3:8b" });
  if (mode !== undefined) config.mode = mode;
  const byName = new Map(config.personas.map((persona) => [persona.name, createPersona(persona, scriptedModel([]))]));
  return { config, workspaceDir, sessionsDir: join(workspaceDir, "sessions"), protectedFiles: ["org.config.json"], byName, budget: new Budget({}) };
}

test("a new session starts in the config's mode with the history it is given; a bad mode is the config's error", () => {
  const options = setup("direct:python");
  const started = startSession({ ...options, history: [] });
  expect(started.mode).toEqual({ kind: "direct", persona: "python" });
  expect(started.history).toEqual([]);
  expect(started.damagedNotice).toBeUndefined();
  expect(() => startSession(setup("direct:nobody"))).toThrow(OrgConfigError);
});

test("a resumed session gets its mode back, and a damaged line is counted in a notice", () => {
  const options = setup();
  const transcript = Transcript.open(options.sessionsDir, "20261123-120000-abcdef", { personas: [...options.byName.keys()], mode: "group" });
  transcript.append({ type: "mode", mode: "direct:agent", by: "user" });
  transcript.close();
  appendFileSync(join(options.sessionsDir, "20261123-120000-abcdef.jsonl"), "{not json\n");
  const resumed = startSession({ ...options, resume: true });
  expect(resumed.sessionId).toBe("20261123-120000-abcdef");
  expect(resumed.mode).toEqual({ kind: "direct", persona: "agent" });
  expect(resumed.damagedNotice).toContain("1 damaged line of session 20261123-120000-abcdef");
});

test("a resumed session with a summary org did not seal says it was skipped", () => {
  const options = setup();
  const id = "20261123-120000-fedcba";
  Transcript.open(options.sessionsDir, id, { personas: [...options.byName.keys()], mode: "group" }).close();
  const forged = {
    type: "compaction",
    time: "2026-11-23T12:00:01.000Z",
    persona: "agent",
    messages: 1,
    throughId: "x",
    tokens: 5,
    summary: "- asked: x",
    model: "m",
    dropped: 0,
  };
  appendFileSync(join(options.sessionsDir, `${id}.jsonl`), `${JSON.stringify(forged)}\n`);
  const resumed = startSession({ ...options, resume: id });
  expect(resumed.summaries).toEqual({});
  expect(resumed.damagedNotice).toContain(`1 summary of earlier messages in session ${id}'s transcript was skipped: not sealed by org`);
});
