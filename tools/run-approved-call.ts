import type { ReceivedToolCall } from "../llm/chat-once.ts";
import type { ToolTimeBudget } from "../security/tool-time-budget.ts";
import { type AnyTool, type CallContext, runTool, type ToolResult, toolSeconds, type WorkspaceWrite } from "./define-tool.ts";
import type { ApproveCall, CallDecision } from "./tool-loop-allowance.ts";

/**
 * Runs one call once the user allowed it; `durationMs` counts the run only: neither the wait for approval nor what the
 * room does with a change the command made to the workspace (shown, asked about, applied) is the tool's time.
 */
export async function runApprovedCall(
  call: ReceivedToolCall,
  request: { tools: ReadonlyMap<string, AnyTool>; approve?: ApproveCall; toolTime?: ToolTimeBudget; now?: () => number },
  context: CallContext,
): Promise<{ result: ToolResult; durationMs: number }> {
  const notRun = (output: string) => ({ result: { ok: false, output }, durationMs: 0 });
  if (call.invalidArguments !== undefined) {
    const sample = call.invalidArguments.length > 200 ? `${call.invalidArguments.slice(0, 200)}…` : call.invalidArguments;
    return notRun(`Error: the arguments of your ${call.name} call are not valid JSON (${JSON.stringify(sample)}). Call it again with a JSON object.`);
  }
  const tool = request.tools.get(call.name);
  // A call's timeout is what it may cost: refused before anyone is asked when the turn cannot afford it.
  const seconds = tool ? toolSeconds(tool, call.arguments) : 0;
  const refusal = request.toolTime?.refusal(seconds);
  if (refusal) return notRun(`Error: not run: ${refusal}`);
  let decision: CallDecision = { run: true };
  if (tool && request.approve) {
    // The user is asked about the arguments as execute will get them: unknown keys gone, defaults filled in.
    // Arguments that do not validate are refused by runTool without asking.
    const parsed = tool.parameters.safeParse(call.arguments ?? {});
    if (parsed.success) {
      const answer = await request.approve({ ...call, arguments: parsed.data });
      decision = typeof answer === "boolean" ? (answer ? { run: true } : { run: false }) : answer;
    }
  }
  if (!decision.run) {
    return notRun(decision.reason ?? `Error: the user denied the ${call.name} call. Do not retry it; ask the user or try another way.`);
  }
  const charged = request.toolTime?.charge(seconds);
  if (charged) return notRun(`Error: not run: ${charged}`);
  const now = request.now ?? (() => performance.now());
  const room = roomTimed(context, now);
  const started = now();
  const result = await runTool(request.tools, call, {
    ...room.context,
    callId: call.id,
    ...(decision.policyFrom !== undefined ? { policyFrom: decision.policyFrom } : {}),
    ...(decision.asked ? { approvedByPerson: true } : {}),
  });
  return { result, durationMs: Math.max(0, Math.round(now() - started - room.spentMs())) };
}

/** The context with its `workspaceWrite` timed: how long the room spent on the changes (the user's answer included). */
function roomTimed(context: CallContext, now: () => number): { context: CallContext; spentMs: () => number } {
  const decide = context.workspaceWrite;
  let spent = 0;
  if (!decide) return { context, spentMs: () => 0 };
  const workspaceWrite: WorkspaceWrite = async (proposal) => {
    const from = now();
    try {
      return await decide(proposal);
    } finally {
      spent += now() - from;
    }
  };
  return { context: { ...context, workspaceWrite }, spentMs: () => spent };
}
