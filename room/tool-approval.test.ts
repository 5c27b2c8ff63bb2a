import { expect, test } from "bun:test";
import type { CallDecision } from "../chat.ts";
import { echoTool } from "../testing/echo-tool.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { type ApprovalAnswer, toolApproval } from "./tool-approval.ts";

const sh = { ...echoTool(() => {}), runsCode: true } as AnyTool;
const call = { id: "c1", name: "sh", arguments: { cmd: "ls" } };

async function decide(options: {
  policy: "allow" | "ask" | "deny";
  ceiling?: { policy: "allow" | "ask" | "deny"; from: string };
  approve?: () => Promise<ApprovalAnswer>;
}): Promise<string | undefined> {
  const approval = toolApproval({
    persona: "agent",
    policy: { sh: options.policy },
    tools: new Map([["sh", sh]]),
    ceiling: options.ceiling,
    approve: options.approve,
    onNotice: () => {},
  });
  const decision = (await approval(call)) as CallDecision;
  return decision.run ? undefined : decision.reason;
}

test("the model is told which rule denied a call: the persona's policy, a stricter one up a hop, no one to ask, or the user", async () => {
  expect(await decide({ policy: "deny" })).toBe(
    `Error: not run: denied by agent's policy for sh ("deny" in org.config.json), not by the user. Do not retry it; answer without it or ask the user.`,
  );
  expect(await decide({ policy: "allow", ceiling: { policy: "deny", from: "toolsmith" } })).toContain(
    `denied by toolsmith's policy for sh ("deny"; toolsmith asked agent for this, and a hop runs code only under the stricter policy), not by the user`,
  );
  expect(await decide({ policy: "ask" })).toContain(
    `agent's policy for sh ("ask" in org.config.json) asks the user first, and no one can answer an approval question here (over HTTP, or a run without a terminal); denied for that, not by the user`,
  );
  expect(await decide({ policy: "ask", approve: async () => ({ denied: "this run has no terminal to ask on" }) })).toContain(
    `asks the user first; this run has no terminal to ask on`,
  );
  expect(await decide({ policy: "ask", approve: async () => false })).toBe(
    "Error: the user denied the sh call at the approval prompt. Do not retry it; ask the user or try another way.",
  );
  expect(await decide({ policy: "ask", approve: async () => true })).toBeUndefined();
});
