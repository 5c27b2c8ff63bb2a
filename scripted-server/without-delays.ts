import type { Reply, Script } from "./script.ts";

/**
 * The script with every reply sent at once: no wait before the first byte or between chunks (`org scripted-server
 * --no-delays`). For runs that judge org's own time (the generations bench, tests of the whole cycle, the doc walks),
 * where the scripted model's pacing would add the same seconds to every run and show nothing of org.
 */
export function withoutDelays(script: Script): Script {
  const instant = (reply: Reply): Reply => ({ ...reply, delayMs: 0, firstByteDelayMs: 0 });
  return {
    ...script,
    rules: script.rules.map((rule) => ({ ...rule, reply: instant(rule.reply) })),
    ...(script.fallback ? { fallback: instant(script.fallback) } : {}),
  };
}
