import { afterAll, expect, test } from "bun:test";
import { runOrgProcess } from "../testing/org-process.ts";
import { superviseFixture, webhookSink, writeFailedGrowReport } from "../testing/supervise-fixture.ts";
import { novelCheck } from "./novel-errors.ts";
import { superviseRound } from "./supervise-round.ts";
import { superviseStatus } from "./supervise-status.ts";
import { SupervisorState } from "./supervisor-state.ts";

const sink = webhookSink();
afterAll(() => sink.stop());

/** `org supervise mute|unmute ARGS` on the fixture's workspace, as a person types it, with the fixture's state closed meanwhile. */
async function supervise(dir: string, args: string[]) {
  return runOrgProcess(["supervise", ...args, "--workspace", dir], { env: { OLLAMA_BASE: "http://127.0.0.1:9" }, timeoutMs: 60_000 });
}

test("org supervise mute takes a part of an error's text as the webhook showed it: shown back with what it matches, and it silences what comes to hold it", async () => {
  using fixture = superviseFixture();
  fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 0, incidentRepeats: 2 } });
  const now = fixture.context.now();
  for (const ago of [3, 2]) writeFailedGrowReport(fixture.dir, new Date(now - ago * 60_000), "render step failed: the   Template Cache is locked");
  const [first] = (await superviseRound(fixture.context, [novelCheck])).opened;
  // The message is one line of data: its runs of white space one space.
  expect(sink.received.map((message) => message.text)).toEqual([expect.stringContaining("render step failed: the Template Cache is locked")]);

  // What a person copies from the message, in another case and spacing.
  const muted = await supervise(fixture.dir, ["mute", "the template  cache is LOCKED", "--for", "2h"]);
  expect(muted.exitCode).toBe(0);
  expect(muted.stdout).toContain('muted the text "the template  cache is LOCKED" for 2h, until ');
  expect(muted.stdout).toContain(
    `  incident ${first?.id} (open): repeated error: grow reports: "grow run failed: render step failed: the Template Cache is locked"`,
  );
  expect(muted.stdout).toMatch(/ {2}signature n[0-9a-f]{10}: grow reports: "grow run failed: render step failed: the Template Cache is locked"/);

  // A fragment that matches nothing, or that would match almost anything, is refused with what to give.
  const nothing = await supervise(fixture.dir, ["mute", "no such words anywhere"]);
  expect(nothing.exitCode).toBe(2);
  expect(nothing.stderr).toContain("no incident or error the supervisor has seen holds that text");
  const short = await supervise(fixture.dir, ["mute", "e d"]);
  expect(short.exitCode).toBe(2);
  expect(short.stderr).toContain("too short");

  // The same error again, later, as a new incident: recorded, muted, not sent.
  fixture.advance(30 * 60_000);
  const later = fixture.context.now();
  for (const ago of [2, 1]) writeFailedGrowReport(fixture.dir, new Date(later - ago * 60_000), "render step failed: the template cache is locked (again)");
  sink.received.length = 0;
  const [second] = (await superviseRound(fixture.context, [novelCheck])).opened;
  expect(second?.id).toBeDefined();
  expect(sink.received).toEqual([]);
  const status = superviseStatus({ workspaceDir: fixture.dir, repoDir: fixture.context.repoDir, config: fixture.context.config }, fixture.context.state, later);
  expect(status.incidents.find((incident) => incident.id === second?.id)?.muted).toBe(true);
  expect(status.mutes).toEqual([{ pattern: "text:the template cache is locked", text: "the template cache is locked", until: expect.any(String) }]);

  // Unmuted by the words as given.
  const unmuted = await supervise(fixture.dir, ["unmute", "the template  cache is LOCKED"]);
  expect(unmuted.stdout).toBe("unmuted the template  cache is LOCKED\n");
  const state = SupervisorState.open(fixture.dir);
  try {
    expect(superviseStatus({ workspaceDir: fixture.dir, repoDir: fixture.context.repoDir, config: fixture.context.config }, state, later).mutes).toEqual([]);
  } finally {
    state.close();
  }
}, 120_000);
