import { expect, test } from "bun:test";
import type { CallDecision } from "../tools/tool-loop-allowance.ts";
import { echoTool } from "../testing/echo-tool.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { type ApprovalAnswer, toolApproval } from "./tool-approval.ts";

const sh = { ...echoTool(() => {}), runsCode: true } as AnyTool;
const call = { id: "c1", name: "sh", arguments: { cmd: "ls" } };

async function decide(options: {
  policy: "allow" | "ask" | "deny";
  ceiling?: { policy: "allow" | "ask" | "deny"; from: string };
  approve?: () => Promise<ApprovalAnswer>;
  configFile?: string;
}): Promise<string | undefined> {
  const approval = toolApproval({
    persona: "agent",
    policy: { sh: options.policy },
    tools: new Map([["sh", sh]]),
    ceiling: options.ceiling,
    approver: options.approve ? { canAsk: () => true, ask: options.approve } : undefined,
    onNotice: () => {},
    configFile: "configFile" in options ? options.configFile : "/somewhere/org.config.json",
  });
  const decision = (await approval(call)) as CallDecision;
  return decision.run ? undefined : decision.reason;
}

test("the model is told which rule denied a call: the persona's policy, a stricter one up a hop, no one to ask, or the user", async () => {
  expect(await decide({ policy: "deny" })).toBe(
    `Error: not run: denied by agent's policy for sh ("deny": personas → agent → tools → sh in org.config.json), not by the user. Do not retry it; answer without it or ask the user.`,
  );
  expect(await decide({ policy: "allow", ceiling: { policy: "deny", from: "toolsmith" } })).toContain(
    `denied by toolsmith's policy for sh ("deny"; toolsmith asked agent for this, and a hop runs code only under the stricter policy), not by the user`,
  );
  expect(await decide({ policy: "ask" })).toContain(
    `agent's policy for sh ("ask": personas → agent → tools → sh in org.config.json) asks the user first, and no one can answer an approval question here (over HTTP, or a run without a terminal); denied for that, not by the user`,
  );
  expect(await decide({ policy: "ask", approve: async () => ({ denied: "this run has no terminal to ask on" }) })).toContain(
    `asks the user first; this run has no terminal to ask on`,
  );
  expect(await decide({ policy: "ask", approve: async () => false })).toBe(
    "Error: the user denied the sh call at the approval prompt. Do not retry it; ask the user or try another way.",
  );
  expect(await decide({ policy: "ask", approve: async () => true })).toBeUndefined();
});

test("in a workspace without org.config.json the policy is called the default, with how to make a file that changes it", async () => {
  const notices: string[] = [];
  const approval = toolApproval({
    persona: "agent",
    policy: { sh: "ask" },
    tools: new Map([["sh", sh]]),
    ceiling: undefined,
    approver: { canAsk: () => false, ask: async () => true },
    onNotice: (notice) => notices.push(notice),
    configFile: undefined,
  });
  const decision = (await approval(call)) as CallDecision;
  const reason = decision.run ? "" : decision.reason;
  const setting = "the default; this workspace has no org.config.json: 'org init' writes one, then set personas → agent → tools → sh";
  expect(reason).toContain(`agent's policy for sh ("ask": ${setting}) asks the user first`);
  expect(notices).toEqual([`agent's sh call needs approval (its policy ("ask": ${setting})) and nobody can approve here; it was denied.`]);
});
