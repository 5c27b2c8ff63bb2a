import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { BASELINE_FILE, countSetBy, followPromotion, followRollback, readBaseline } from "./fitness-baseline.ts";
import { ensureFitnessDir, gateKey, signContent } from "./gate-key.ts";

const MERGE = "a".repeat(40);
const P1 = "promote/20261123T100000Z";
const P2 = "promote/20261123T110000Z";
const P3 = "promote/20261123T120000Z";

function withRepo(run: (dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), "org-baseline-"));
  try {
    run(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a promotion's counts are named for it; finishing it again after a kill counts it once", () =>
  withRepo((dir) => {
    followPromotion(dir, { tag: P1, branch: "cand/20261123T095900Z", merge: MERGE, passes: { echo: 1, "tool upper": 2 } });
    const again = followPromotion(dir, { tag: P1, branch: "cand/20261123T095900Z", merge: MERGE, passes: { echo: 1, "tool upper": 2 } });
    expect(again.setBy).toEqual({ echo: [{ count: 1, by: P1 }], "tool upper": [{ count: 2, by: P1 }] });
    expect(again.reason).toBe(`${P1} merged cand/20261123T095900Z`);
    expect(countSetBy(again, "tool upper").text).toBe(`set by ${P1} (cand/20261123T095900Z)`);
    expect(readBaseline(dir)).toEqual(again);
  }));

test("a rollback withdraws what was measured with the promotion it undid, keeps what it could not change, and is safe to repeat", () =>
  withRepo((dir) => {
    followPromotion(dir, { tag: P1, merge: MERGE, passes: { echo: 1, "tool upper": 2 } });
    followPromotion(dir, { tag: P2, merge: MERGE, passes: { echo: 1, "tool upper": 2, "tool lower": 3 } });
    followPromotion(dir, { tag: P3, merge: MERGE, passes: { echo: 1, "tool upper": 2, "tool lower": 3, "tool third": 4 } });
    // P2 brought lower, and is rolled back by name with P3 on top.
    const rollback = { tag: "rollback/20261123T130000Z", undoes: P2, undoneTools: ["lower"], changedCode: false, newMain: MERGE };
    const after = followRollback(dir, { ...rollback, toolsOnMain: new Set(["upper", "third"]) });
    // echo (a model scenario) keeps only what was measured before P2; lower goes with its folder; upper and third keep
    // every count of theirs (P2's and P3's included: a tool's examples run from its own folder).
    expect(after.scenarios).toEqual({ echo: 1, "tool upper": 2, "tool third": 4 });
    expect(after.setBy.echo).toEqual([{ count: 1, by: P1 }]);
    expect(after.setBy["tool upper"]?.map((entry) => entry.by)).toEqual([P1, P2, P3]);
    expect(after.reason).toBe(`rollback/20261123T130000Z undid ${P2}`);
    expect(countSetBy(after, "tool upper").text).toBe(`set by ${P3}`);
    const repeated = followRollback(dir, { ...rollback, toolsOnMain: new Set(["upper", "third"]) });
    expect(repeated.setBy).toEqual(after.setBy);
    // A rollback of a promotion that changed code outside tools/generated/ takes back everything measured with it.
    const coded = followRollback(dir, { ...rollback, undoes: P3, undoneTools: ["third"], changedCode: true, toolsOnMain: new Set(["upper"]) });
    expect(coded.scenarios).toEqual({ echo: 1, "tool upper": 2 });
    expect(coded.setBy["tool upper"]?.map((entry) => entry.by)).toEqual([P1, P2]);
    expect(countSetBy(coded, "tool upper").text).toBe(`set by ${P2}, which rollback/20261123T130000Z undid without changing this`);
  }));

test("a version 1 baseline is read with no promotion named, and a rollback withdraws such counts where it could have changed them", () =>
  withRepo((dir) => {
    ensureFitnessDir(dir);
    const content = { version: 1, scenarios: { echo: 1, "tool upper": 2, "tool gone": 3 }, mainCommit: MERGE, updatedAt: new Date().toISOString() };
    writeFileSync(join(dir, BASELINE_FILE), JSON.stringify({ ...content, mac: signContent(gateKey(dir, true) as Buffer, content) }));
    const read = readBaseline(dir);
    expect(read?.scenarios).toEqual(content.scenarios);
    expect(read && countSetBy(read, "echo").text).toBe("set before org noted which promotion set a count");
    const after = followRollback(dir, {
      tag: "rollback/20261123T130000Z",
      undoes: P1,
      undoneTools: ["gone"],
      changedCode: false,
      newMain: MERGE,
      toolsOnMain: new Set(["upper"]),
    });
    expect(after.scenarios).toEqual({ "tool upper": 2 });
  }));

test("each scenario keeps its newest entries only: a long history stays small, and its count is the newest", () =>
  withRepo((dir) => {
    for (let hour = 0; hour < 20; hour += 1) {
      const tag = `promote/20261123T${String(hour).padStart(2, "0")}0000Z`;
      followPromotion(dir, { tag, merge: MERGE, passes: { echo: 1, "tool upper": hour } });
    }
    const baseline = readBaseline(dir);
    expect(baseline?.setBy["tool upper"]).toHaveLength(12);
    expect(baseline?.scenarios["tool upper"]).toBe(19);
    expect(Object.keys(baseline?.promotions ?? {})).toHaveLength(12);
  }));
