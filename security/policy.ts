import type { ToolPolicy } from "../config/tool-policy.ts";

const STRICTNESS: Record<ToolPolicy, number> = { allow: 0, ask: 1, deny: 2 };

/** The stricter of two policies: deny over ask over allow. */
export function stricterPolicy(first: ToolPolicy, second: ToolPolicy): ToolPolicy {
  return STRICTNESS[first] >= STRICTNESS[second] ? first : second;
}

/** A policy and the persona whose configuration it is. */
export type DecidingPolicy = { policy: ToolPolicy; from: string };

/**
 * What a persona may have code run with on its own: the most permissive policy among its tools that run
 * code; deny when it has none. A persona that must ask before `sh` must not get code run unasked by
 * naming another persona.
 */
export function codePolicyOf(persona: string, toolPolicy: Readonly<Record<string, ToolPolicy>>, runsCode: (tool: string) => boolean): DecidingPolicy {
  let policy: ToolPolicy = "deny";
  for (const [tool, toolPolicyValue] of Object.entries(toolPolicy)) {
    if (runsCode(tool) && STRICTNESS[toolPolicyValue] < STRICTNESS[policy]) policy = toolPolicyValue;
  }
  return { policy, from: persona };
}

/** The stricter of two deciding policies; on a tie the first (the one further up the chain) keeps the credit. */
export function stricterDeciding(first: DecidingPolicy, second: DecidingPolicy): DecidingPolicy {
  return STRICTNESS[second.policy] > STRICTNESS[first.policy] ? second : first;
}

/**
 * The policy a tool call runs under (docs/ARCHITECTURE.md, invariant 12). A reply the user asked for runs under the persona's own
 * policy. A reply another persona set off (a hop) runs every tool that runs code under the stricter of its own
 * policy and `ceiling`, the code policy of the personas up the chain; `from` says whose policy decided.
 */
export function effectivePolicy(own: DecidingPolicy, tool: { runsCode: boolean }, ceiling: DecidingPolicy | undefined): DecidingPolicy {
  if (!ceiling || !tool.runsCode) return own;
  return STRICTNESS[ceiling.policy] > STRICTNESS[own.policy] ? ceiling : own;
}
