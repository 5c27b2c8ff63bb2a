import { basename } from "node:path";
import type { CallDecision } from "../tools/tool-loop-allowance.ts";
import type { ToolCall } from "../llm/chat-types.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import { redact, redactValue } from "../security/redact.ts";
import { type DecidingPolicy, effectivePolicy } from "../security/policy.ts";
import type { AnyTool } from "../tools/define-tool.ts";
import { outsideWordsTaken, outsideWordsWhy, type WordsTaken } from "./outside-words.ts";

/** What an approval question got: yes, the user's no, or no with why no one could answer (said to the model). */
export type ApprovalAnswer = boolean | { denied: string };

/**
 * Where a question comes from: the reply, the workspace change it decides, and the turn's signal (a stop answers it);
 * `always`, what "always" allows for the rest of the session when it is not that persona's tool (web_request: a host).
 */
export type ApprovalContext = {
  replyId?: string;
  changeId?: string;
  signal?: AbortSignal;
  always?: ApprovalScope;
  /**
   * Why the person is asked though the policy allows the call: the persona took words from outside this turn
   * (`outsideWordsWhy`). Such a question is answered yes or no, never "always", and an earlier "always" does not answer it.
   */
  why?: string;
};

/** What an "always" answer allows: a key the session remembers, and how the person reads it ("web_request to api.github.com"). */
export type ApprovalScope = { key: string; label: string };

/** Who answers approval questions (the room's `RoomApprovals`): whether anyone can now, and the question itself. */
export type Approver = {
  canAsk(): boolean;
  ask(persona: string, call: ToolCall & { preview?: string }, context: ApprovalContext): Promise<ApprovalAnswer>;
};

/**
 * Whether one of a persona's tool calls may run. A hop runs code under the stricter of this persona's policy
 * and the `ceiling` of the personas that asked (docs/ARCHITECTURE.md, invariant 12); "ask" goes to `approver`, and when nobody can
 * answer the call is denied with `onNotice` saying why. Denied tools are never offered in the first place.
 */
export function toolApproval(options: {
  persona: string;
  policy: Readonly<Record<string, ToolPolicy>>;
  tools: ReadonlyMap<string, AnyTool>;
  ceiling: DecidingPolicy | undefined;
  approver: Approver | undefined;
  /** The reply and turn the calls belong to: the question names the reply, and a stopped turn answers it. */
  context?: ApprovalContext;
  onNotice: (message: string) => void;
  /** The room's server keys and URL credentials: the question shows the call with them redacted. */
  secrets?: readonly string[];
  /** The config file the policies were read from; undefined when the workspace has none and defaults apply. */
  configFile?: string | undefined;
  /** What words from outside the persona took this turn (a page's): then its calls that act are asked, whatever "allow" says. */
  outsideWords?: () => WordsTaken | undefined;
}): (call: ToolCall) => Promise<boolean | CallDecision> {
  const { persona, policy, tools, ceiling, approver, onNotice } = options;
  return async (call) => {
    const own = { policy: policy[call.name] ?? "deny", from: persona };
    const decided = effectivePolicy(own, tools.get(call.name) ?? { runsCode: false }, ceiling);
    const setting = policySetting(persona, call.name, options.configFile);
    const whose =
      decided.from === persona
        ? `its policy ("${decided.policy}": ${setting})`
        : `${decided.from}'s policy (${decided.from} asked ${persona} for this) marks it "${decided.policy}"`;
    // The model is told which rule said no: a policy, the user at the prompt, or that no one could be asked.
    const policyOf =
      decided.from === persona
        ? `${persona}'s policy for ${call.name} ("${decided.policy}": ${setting})`
        : `${decided.from}'s policy for ${call.name} ("${decided.policy}"; ${decided.from} asked ${persona} ` +
          `for this, and a hop runs code only under the stricter policy)`;
    const notRun = (why: string) => ({ run: false as const, reason: `Error: not run: ${why}. Do not retry it; answer without it or ask the user.` });
    if (decided.policy === "deny") {
      onNotice(`${persona}'s ${call.name} call was not run: ${whose} does not let it run.`);
      return notRun(`denied by ${policyOf}, not by the user`);
    }
    // After a page's words, a call that acts is the person's to allow: "allow" was given for what the person asks.
    const tool = tools.get(call.name);
    const taken = (tool?.acts ?? true) ? options.outsideWords?.() : undefined;
    if (decided.policy === "allow" && taken === undefined) return { run: true, policyFrom: decided.from };
    const why = taken === undefined ? undefined : outsideWordsWhy(persona, call.name, taken, options.secrets ?? []);
    if (taken !== undefined && !approver?.canAsk()) {
      const read = outsideWordsTaken(persona, taken, options.secrets ?? []);
      onNotice(`${persona}'s ${call.name} call was not run: ${read}, and nobody can approve a call that acts after that here.`);
      return notRun(
        `${read}. After words from outside, a call that acts runs only when a person says yes, and no one can answer ` +
          `an approval question here; denied for that, not by the user. Say what you would run: the user can ask for it ` +
          `in a room with a person (org chat or the web room)`,
      );
    }
    if (!approver?.canAsk()) {
      onNotice(`${persona}'s ${call.name} call needs approval (${whose}) and nobody can approve here; it was denied.`);
      return notRun(
        `${policyOf} asks the user first, and no one can answer an approval question here (over HTTP, or a ` +
          `run without a terminal); denied for that, not by the user`,
      );
    }
    // A tool may say what "always" allows of it (web_request: that host, for the session), rather than the whole tool.
    const always = why === undefined ? tool?.approvalScope?.(call.arguments) : undefined;
    const preview = tool?.approvalPreview?.(call.arguments);
    const shown = {
      ...redactValue(call, options.secrets ?? []),
      ...(preview !== undefined ? { preview: redact(preview, options.secrets ?? []) } : {}),
    };
    const answer = await approver.ask(persona, shown, { ...options.context, ...(always ? { always } : {}), ...(why !== undefined ? { why } : {}) });
    if (answer === true) return { run: true, policyFrom: decided.from, asked: true };
    if (answer === false) {
      return {
        run: false,
        reason: `Error: the user denied the ${call.name} call at the approval prompt. Do not retry it; ask the user or try another way.`,
      };
    }
    return notRun(`${policyOf} asks the user first; ${answer.denied}`);
  };
}

/**
 * Where a persona's policy for a tool is set, for messages: the key in the config file, or, in a workspace
 * without one, that it is the default and how to change it.
 */
export function policySetting(persona: string, tool: string, configFile: string | undefined): string {
  const key = `personas → ${persona} → tools → ${tool}`;
  return configFile !== undefined
    ? `${key} in ${basename(configFile)}`
    : `the default; this workspace has no org.config.json: 'org init' writes one, then set ${key}`;
}
