import { expect, test } from "bun:test";
import { EMPTY_CURSOR, writeGrowState } from "../grow/grow-state.ts";
import { tempGitRepo } from "../testing/temp-git-repo.ts";
import { growthView } from "./growth-routes.ts";
import { webApiSchemas } from "./web-api.ts";

const NOW = new Date().toISOString();

test("Growth's view says which team offer covers a proposal, who signed it and what to run; null for any other cover", () => {
  using workspace = tempGitRepo("org-growth-view-");
  const offer = { id: "20261129T113720695Z-225cd861", tool: "word_count", signer: "alice", fingerprint: "SHA256:abc", run: "org share pull" };
  const proposal = (id: string, more: object) => ({
    id,
    goal: "count the words in a text",
    evidence: [],
    count: 1,
    sessions: 1,
    seenIn: [],
    sources: { user: 1 },
    firstSeen: NOW,
    lastSeen: NOW,
    state: "covered" as const,
    kind: "build" as const,
    goalFrom: "request" as const,
    signals: { request: 1 },
    coveredBy: "word_count",
    attempts: 0,
    updatedAt: NOW,
    ...more,
  });
  writeGrowState(workspace.dir, {
    version: 1,
    cursor: EMPTY_CURSOR,
    proposals: [proposal("p0123456789ab", { offer }), proposal("p0123456789cd", {})],
  });
  const view = webApiSchemas().GrowthView.parse(growthView(workspace.dir));
  expect(view.proposals.map((entry) => [entry.id, entry.tool, entry.offer])).toEqual([
    ["p0123456789ab", "word_count", offer],
    ["p0123456789cd", "word_count", null],
  ]);
});
