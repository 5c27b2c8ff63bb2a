import { describe, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PLANS_DIR } from "../config/workspace-paths.ts";
import { PlanNotFoundError, readPlanRecord, savePlanRecord } from "./plan-store.ts";

const workflow = {
  name: "square",
  inputs: { type: "object", properties: { number: { type: "number" } }, required: ["number"] },
  steps: [{ id: "sq", tool: "square", inputs: { number: "$inputs.number" } }],
  output: { result: "$steps.sq.output.result" },
};

describe("the plans kept in .org/plans/", () => {
  test("a kept plan reads back; a damaged one, JSON or not, is a PlanNotFoundError that says to make it again", () => {
    const dir = mkdtempSync(join(tmpdir(), "org-plan-store-"));
    try {
      const saved = savePlanRecord(dir, { goal: "square it", workflow, rounds: 1, refs: [], repoDir: dir }, new Date("2026-11-26T10:15:00.123Z"));
      expect(saved.id).toMatch(/^20261126T101500Z-[a-z0-9]{4}$/);
      expect(readPlanRecord(dir, saved.id)).toEqual(saved);
      for (const damaged of ['{"version": 1}', "{not json", ""]) {
        writeFileSync(join(dir, PLANS_DIR, `${saved.id}.json`), damaged);
        expect(() => readPlanRecord(dir, saved.id)).toThrow(PlanNotFoundError);
        expect(() => readPlanRecord(dir, saved.id)).toThrow(/is damaged .*make it again with org workflow plan/);
      }
      expect(() => readPlanRecord(dir, "20261126T101500Z-zzzz")).toThrow(/no plan 20261126T101500Z-zzzz/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
