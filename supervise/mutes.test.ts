import { afterAll, expect, test } from "bun:test";
import { runOrgProcess } from "../testing/org-process.ts";
import { type SuperviseFixture, superviseFixture, webhookSink, writeFailedGrowReport } from "../testing/supervise-fixture.ts";
import { novelCheck } from "./novel-errors.ts";
import { superviseRound } from "./supervise-round.ts";
import { superviseStatus } from "./supervise-status.ts";
import { SupervisorState } from "./supervisor-state.ts";

const sink = webhookSink();
afterAll(() => sink.stop());

/** Grow runs that failed with `error` one and two minutes ago, and the round that makes them an incident: that one. */
async function failedTwice(fixture: SuperviseFixture, error: string) {
  const now = fixture.context.now();
  for (const ago of [2, 1]) writeFailedGrowReport(fixture.dir, new Date(now - ago * 60_000), error);
  return (await superviseRound(fixture.context, [novelCheck])).opened[0];
}

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

  // A fragment copied across the title and what follows it in the message, and one copied with the message's start.
  for (const copied of [`cache is locked": 2 times within`, "[org supervise] repeated error: grow reports"]) {
    const across = await supervise(fixture.dir, ["mute", copied]);
    expect({ copied, code: across.exitCode, out: across.stdout }).toEqual({
      copied,
      code: 0,
      out: expect.stringContaining(`  incident ${first?.id} (open): `),
    });
    expect((await supervise(fixture.dir, ["unmute", copied])).stdout).toBe(`unmuted ${copied}\n`);
  }

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
  sink.received.length = 0;
  const second = await failedTwice(fixture, "render step failed: the template cache is locked (again)");
  expect(second?.id).toBeDefined();
  expect(sink.received).toEqual([]);
  const status = superviseStatus(
    { workspaceDir: fixture.dir, repoDir: fixture.context.repoDir, config: fixture.context.config },
    fixture.context.state,
    later,
  );
  expect(status.incidents.find((incident) => incident.id === second?.id)?.muted).toBe(true);
  expect(status.mutes).toEqual([{ pattern: "text:the template cache is locked", text: "the template cache is locked", until: expect.any(String) }]);

  // Unmuted by the words as given.
  const unmuted = await supervise(fixture.dir, ["unmute", "the template  cache is LOCKED"]);
  expect(unmuted.stdout).toBe("unmuted the template  cache is LOCKED\n");
  const state = SupervisorState.open(fixture.dir);
  try {
    expect(
      superviseStatus({ workspaceDir: fixture.dir, repoDir: fixture.context.repoDir, config: fixture.context.config }, state, later).mutes,
    ).toEqual([]);
  } finally {
    state.close();
  }
}, 120_000);

test("org supervise mute takes a part of a message of an incident that is over: what the webhook showed, not what it says now", async () => {
  using fixture = superviseFixture();
  fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 0, incidentRepeats: 2 } });
  const opened = await failedTwice(fixture, "render step failed: the archive index is stale");
  // The error stops; the incident is over and its detail says so.
  fixture.advance(6 * 3_600_000);
  await superviseRound(fixture.context, [novelCheck]);
  expect(fixture.context.state.incident(opened?.id ?? "")?.state).toBe("resolved");

  // Copied from the opening's message, across its title and the detail it had then.
  const copied = `index is stale": 2 times within`;
  const muted = await supervise(fixture.dir, ["mute", copied]);
  expect({ code: muted.exitCode, out: muted.stdout, err: muted.stderr }).toEqual({
    code: 0,
    out: expect.stringContaining(`  incident ${opened?.id} (resolved): `),
    err: "",
  });
  // The same error back, as a new incident: muted, not sent.
  fixture.advance(30 * 60_000);
  sink.received.length = 0;
  const again = await failedTwice(fixture, "render step failed: the archive index is stale");
  expect(again?.id).toBeDefined();
  expect(sink.received).toEqual([]);
}, 120_000);

test("a mute by a part of a message silences the rest of that incident's news, the words of the message the incident's own", async () => {
  using fixture = superviseFixture();
  fixture.configure({ supervise: { webhook: sink.url, quietMinutes: 0, incidentRepeats: 2 } });
  const opened = await failedTwice(fixture, "render step failed: the spool folder is full");
  // Copied with the start of the message, which names the incident: not in its title or detail.
  const copied = `incident ${opened?.id}: repeated error`;
  const muted = await supervise(fixture.dir, ["mute", copied]);
  expect({ code: muted.exitCode, out: muted.stdout }).toEqual({ code: 0, out: expect.stringContaining(`  incident ${opened?.id} (open): `) });
  // The error stops: the recovery is recorded, not sent.
  sink.received.length = 0;
  fixture.advance(6 * 3_600_000);
  await superviseRound(fixture.context, [novelCheck]);
  expect(fixture.context.state.incident(opened?.id ?? "")?.state).toBe("resolved");
  expect(sink.received).toEqual([]);
}, 120_000);
