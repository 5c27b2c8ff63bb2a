import { describe, expect, test } from "bun:test";
import { appendFileSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { startScriptedServer } from "../scripted-server/start-scripted-server.ts";
import { superviseFixture, writeFailedGrowReport } from "../testing/supervise-fixture.ts";
import { applyFixById } from "./apply-fix.ts";
import { diagnoseOpenIncidents, diagnosisModel } from "./diagnose-incident.ts";
import { mutePattern } from "./mutes.ts";
import { isNovelError, novelCheck, signatureId, signatureOf } from "./novel-errors.ts";
import { superviseRound } from "./supervise-round.ts";

function auditFailure(dir: string, at: number, tool: string): void {
  const day = new Date(at).toISOString().slice(0, 10);
  mkdirSync(join(dir, ".org", "audit"), { recursive: true, mode: 0o700 });
  // A call serve made for a request (a job's turn) that crashed: no exit status.
  const line = {
    time: new Date(at).toISOString(),
    requestId: "job-0badc0de",
    tool,
    arguments: {},
    ok: false,
    exitCode: null,
    durationMs: 3,
    bytes: 0,
  };
  appendFileSync(join(dir, ".org", "audit", `${day}.jsonl`), `${JSON.stringify(line)}\n`);
}

describe("novel errors: repeated errors no known pattern covers", () => {
  test("a signature keeps what repeats and drops what varies; known patterns' lines are not novel", () => {
    expect(signatureOf('2026-11-23T10:15:00.123Z fetch of "a.txt" failed after 1532 ms at /tmp/x/y.ts (job-abc1234f)')).toBe(
      signatureOf('2026-11-24T01:00:00Z fetch of "b.txt" failed after 17 ms at /var/lib/z.ts (job-ffff0000)'),
    );
    expect(signatureId("x")).toMatch(/^n[0-9a-f]{10}$/);
    expect(isNovelError("render failed: unexpected token")).toBe(true);
    expect(isNovelError("mcp: flaky is down (exited)")).toBe(false);
    expect(isNovelError("reloaded tools at abc: added none")).toBe(false);
  });

  test("repeated incidentRepeats times in the window it is an incident; each line counts once; a model's diagnosis is checked, recorded and never applied by itself", async () => {
    await using model = await startScriptedServer({
      script: {
        models: ["scripted"],
        rules: [
          // Like a small model: prose, then a fenced call whose target is a command, which no action takes.
          {
            when: { tool: "propose_fix", times: 1 },
            reply: {
              text: "Let me fix it.\n",
              embedded: "json",
              toolCalls: [
                {
                  name: "propose_fix",
                  arguments: {
                    action: "restart-current",
                    target: "rm -rf /",
                    quote: "tool web_fetch failed to run",
                    diagnosis: "the tool keeps crashing",
                  },
                },
              ],
            },
          },
          {
            when: { tool: "propose_fix" },
            reply: {
              toolCalls: [
                {
                  name: "propose_fix",
                  arguments: {
                    diagnosis: "web_fetch crashes at start; its leftovers may hold it",
                    quote: "tool web_fetch failed to run",
                    action: "remove-leftovers",
                    target: "all",
                  },
                },
              ],
            },
          },
        ],
      },
    });
    using fixture = superviseFixture({ server: model.url });
    const now = fixture.context.now();
    for (const offset of [3, 2]) auditFailure(fixture.dir, now - offset * 60_000, "web_fetch");
    expect((await superviseRound(fixture.context, [novelCheck])).opened).toEqual([]);
    // Read again, nothing new counts twice.
    expect((await superviseRound(fixture.context, [novelCheck])).opened).toEqual([]);
    auditFailure(fixture.dir, now - 60_000, "web_fetch");
    const round = await superviseRound(fixture.context, [novelCheck]);
    expect(round.opened.map((incident) => incident.title)).toEqual(['repeated error: the audit log: "tool web_fetch failed to run"']);
    const incident = fixture.context.state.openIncidents("novel")[0];
    expect(incident?.excerpt?.split("\n")).toHaveLength(3);

    const fixId = await diagnoseOpenIncidents(fixture.context, diagnosisModel(fixture.context.config), () => false);
    const fix = fixture.context.state.fix(fixId ?? "");
    expect(fix).toMatchObject({ action: "remove-leftovers", target: "all", state: "proposed", by: "model scripted", auto: false });
    expect(fixture.context.state.incident(incident?.id ?? "")?.diagnosis).toContain('quoting "tool web_fetch failed to run"');
    // Two calls: the first answer's target was refused with the reason, and the model answered again.
    const asked = model.requests.filter((request) => request.path === "/v1/chat/completions");
    expect(asked).toHaveLength(2);
    const retry = (asked[1]?.body as { messages: { content: string }[] }).messages.at(-1)?.content;
    expect(retry).toContain('restart-current takes the target "current", not "rm -rf /"');
    // It waits for a person; applying it records the steps, verified once the error stops repeating.
    const applied = await applyFixById(fixture.context, fix?.id ?? "");
    expect(applied.fix.state).toBe("applied");
    fixture.advance(fixture.context.config.supervise.window);
    const later = await superviseRound(fixture.context, [novelCheck]);
    expect(later.resolved).toHaveLength(1);
    expect(fixture.context.state.fix(fix?.id ?? "")?.state).toBe("verified");
  });

  test("with no model, or muted, a novel incident waits undiagnosed", async () => {
    using fixture = superviseFixture();
    const now = fixture.context.now();
    for (const offset of [3, 2, 1]) auditFailure(fixture.dir, now - offset * 60_000, "python_run");
    await superviseRound(fixture.context, [novelCheck]);
    const incident = fixture.context.state.openIncidents("novel")[0];
    expect(await diagnoseOpenIncidents(fixture.context, undefined, () => false)).toBeUndefined();
    mutePattern(fixture.context.state, incident?.key ?? "", undefined, now);
    expect(await diagnoseOpenIncidents(fixture.context, diagnosisModel(fixture.context.config), () => true)).toBeUndefined();
    expect(fixture.context.state.incident(incident?.id ?? "")?.diagnosis).toBeNull();
  });
});

describe("novel errors: one incident however they repeat", () => {
  test("an error every four minutes for an hour is one incident, over once it stops for its beat; never opened and closed a window at a time", async () => {
    using fixture = superviseFixture({ start: Date.parse("2026-11-23T10:00:00Z") });
    fixture.configure({ supervise: { window: "10m", incidentRepeats: 3 } });
    const opened: string[] = [];
    const resolved: string[] = [];
    for (let minute = 0; minute < 80; minute += 1) {
      if (minute < 60 && minute % 4 === 0) auditFailure(fixture.dir, fixture.context.now(), "web_fetch");
      const round = await superviseRound(fixture.context, [novelCheck]);
      opened.push(...round.opened.map((incident) => `${minute} ${incident.id}`));
      resolved.push(...round.resolved.map((incident) => `${minute} ${incident.id}`));
      fixture.advance(60_000);
    }
    // Opened at the third failure (minute 8); the last at minute 56, over ten minutes later.
    expect(opened).toEqual([expect.stringMatching(/^8 i/)]);
    expect(resolved).toEqual([`67 ${opened[0]?.split(" ")[1]}`]);
  });

  test("a scheduled run that fails the same way every hour is an incident at its third failure, over once it has not failed for twice its hour", async () => {
    using fixture = superviseFixture({ start: Date.parse("2026-11-23T10:00:00Z") });
    fixture.configure({ supervise: { window: "10m", incidentRepeats: 3 } });
    const said: string[] = [];
    for (let hour = 0; hour < 9; hour += 1) {
      if (hour < 5) writeFailedGrowReport(fixture.dir, new Date(fixture.context.now()), "render step failed: the template cache is locked");
      const round = await superviseRound(fixture.context, [novelCheck]);
      said.push(...round.opened.map(() => `${hour} opened`), ...round.resolved.map(() => `${hour} resolved`));
      if (hour === 4) expect(fixture.context.state.openIncidents("novel")[0]?.detail).toStartWith("5 times within 4h");
      fixture.advance(3_600_000);
    }
    expect(said).toEqual(["2 opened", "7 resolved"]);
    const [incident] = fixture.context.state.incidentsDuring(0, Number.MAX_SAFE_INTEGER);
    expect(incident?.excerpt?.split("\n")).toHaveLength(5);
  });
});
