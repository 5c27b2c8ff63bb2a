import { expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RESERVED_TOOL_NAMES } from "../config/tool-names.ts";
import { writeGeneratedTool } from "../testing/generated-tool-files.ts";
import { promotedRoomTools } from "./room-tools.ts";

test("a promoted folder with any reserved name is refused with the reason, never offered; the others are", () => {
  const dir = mkdtempSync(join(tmpdir(), "org-room-tools-"));
  try {
    for (const name of [...RESERVED_TOOL_NAMES, "word_count"]) writeGeneratedTool(dir, name);
    const { generated, problems } = promotedRoomTools([dir]);
    expect(generated.map(({ tool }) => tool.name)).toEqual(["word_count"]);
    expect(problems.map((problem) => problem.name).sort()).toEqual([...RESERVED_TOOL_NAMES].sort());
    for (const { problem } of problems) expect(problem).toContain("reserved tool name");
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
