import { expect, test } from "bun:test";
import { codePolicyOf, effectivePolicy, stricterDeciding, stricterPolicy } from "./policy.ts";

test("deny is stricter than ask, ask than allow, in either order", () => {
  expect(stricterPolicy("allow", "ask")).toBe("ask");
  expect(stricterPolicy("ask", "allow")).toBe("ask");
  expect(stricterPolicy("deny", "ask")).toBe("deny");
  expect(stricterPolicy("allow", "allow")).toBe("allow");
});

test("a persona's code policy is its most permissive code tool; none means deny; tools that run no code do not count", () => {
  const runsCode = (tool: string) => tool === "sh" || tool === "python_run";
  expect(codePolicyOf("agent", { sh: "ask", chat_mode: "allow" }, runsCode)).toEqual({ policy: "ask", from: "agent" });
  expect(codePolicyOf("both", { sh: "ask", python_run: "allow" }, runsCode)).toEqual({ policy: "allow", from: "both" });
  expect(codePolicyOf("toolsmith", { chat_mode: "allow" }, runsCode)).toEqual({ policy: "deny", from: "toolsmith" });
});

test("a hop's code tool runs under the ceiling when it is stricter; a tool that runs no code keeps its own policy", () => {
  const ceiling = { policy: "ask" as const, from: "agent" };
  expect(effectivePolicy({ policy: "allow", from: "python" }, { runsCode: true }, ceiling)).toEqual(ceiling);
  expect(effectivePolicy({ policy: "allow", from: "python" }, { runsCode: false }, ceiling)).toEqual({ policy: "allow", from: "python" });
  expect(effectivePolicy({ policy: "deny", from: "python" }, { runsCode: true }, ceiling)).toEqual({ policy: "deny", from: "python" });
  expect(effectivePolicy({ policy: "allow", from: "python" }, { runsCode: true }, undefined)).toEqual({ policy: "allow", from: "python" });
  expect(stricterDeciding(ceiling, { policy: "ask", from: "python" })).toBe(ceiling);
  expect(stricterDeciding(ceiling, { policy: "deny", from: "python" })).toEqual({ policy: "deny", from: "python" });
});
