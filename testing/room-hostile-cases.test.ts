import { loadConfirmedConfig } from "./confirmed-config.ts";
import { afterAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createConsoleRenderer } from "../cli/chat/console-renderer.ts";

import type { RoomEvent } from "../room/room-event.ts";
import { openRoom } from "../room/room.ts";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { pythonRun } from "../tools/python-run.ts";
import { sh } from "../tools/sh.ts";
import { caseToolRuns, ROOM_HOSTILE_CASES, type RoomHostileCase, type RoomHostileOutcome } from "./room-hostile-cases.ts";
import { testSandboxAccess } from "./test-sandbox.ts";

const base = mkdtempSync(join(tmpdir(), "org-room-hostile-"));
// The sandbox drops to another uid, which must be able to enter the workspaces under it.
chmodSync(base, 0o755);
afterAll(() => rmSync(base, { recursive: true, force: true }));

/** Plays a case through the real room on two scripted servers, with the real sandbox tools and console renderer. */
async function play(hostile: RoomHostileCase, index: number): Promise<RoomHostileOutcome> {
  await using near = await startScriptedServer({ script: hostile.script });
  await using far = await startScriptedServer({ script: { rules: [{ reply: { text: "far reply" } }] } });
  const place = { workspaceDir: join(base, `workspace-${index}`), outsideDir: join(base, `host-${index}`), nearUrl: near.url, farUrl: far.url };
  mkdirSync(place.workspaceDir);
  mkdirSync(place.outsideDir);
  const configPath = join(place.workspaceDir, "org.config.json");
  writeFileSync(configPath, JSON.stringify(hostile.config?.(place) ?? {}));
  const config = loadConfirmedConfig(
    configPath,
    { OLLAMA_BASE: near.url, OLLAMA_MODEL: "qwen3:8b", ...hostile.env?.(place) },
    { checkoutDir: place.workspaceDir },
  );
  for (const persona of config.personas) for (const tool of hostile.tools ?? []) persona.tools[tool.name] = "allow";
  Object.assign(config.limits, hostile.limits ?? {});
  caseToolRuns.length = 0;
  const asked: string[] = [];
  const events: RoomEvent[] = [];
  let console = "";
  const renderer = createConsoleRenderer({ write: (text) => (console += text), color: false });
  const room = await openRoom({
    ...testSandboxAccess(),
    config,
    workspaceDir: place.workspaceDir,
    tools: [sh, pythonRun, ...(hostile.tools ?? [])],
    ...(hostile.approve !== undefined
      ? {
          approve: async (persona: string, call: { name: string }) => {
            asked.push(`${persona}:${call.name}`);
            return hostile.approve as boolean;
          },
        }
      : {}),
    onEvent: (event) => {
      events.push(event);
      renderer.handle(event);
    },
  });
  try {
    await hostile.run(room, place);
  } finally {
    await room.close();
  }
  await renderer.idle();
  return {
    ...place,
    events,
    console,
    transcript: readFileSync(room.transcriptPath, "utf8"),
    nearRequests: near.requests,
    farRequests: far.requests,
    asked,
    ran: [...caseToolRuns],
  };
}

describe("hostile models and servers against the real room (invariants 5, 11, 12, 13)", () => {
  for (const [index, hostile] of ROOM_HOSTILE_CASES.entries()) {
    test(`${hostile.category}: ${hostile.name}`, async () => {
      expect(hostile.expect(await play(hostile, index))).toBeUndefined();
    }, 60_000);
  }

  test("the table covers each kind of attack", () => {
    expect([...new Set(ROOM_HOSTILE_CASES.map((hostile) => hostile.category))].sort()).toEqual(["file-mode", "hop-policy", "limits", "secrets"]);
  });
});
