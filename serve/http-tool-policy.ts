import type { ServeSettings } from "../config/serve-settings.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";

/** Where a tool served over HTTP comes from; a workflow runs generated tools, so it is judged as one. */
export type HttpToolOrigin = "built-in" | "generated" | "workflow";

/**
 * The one policy for a tool run over HTTP, whichever route runs it (`POST /v1/tools/:name/run` or `/mcp`):
 * `serve.tools.<name>`, else `serve.generatedTools` for a generated tool or a workflow, else "ask".
 */
export function httpToolPolicy(serve: Pick<ServeSettings, "tools" | "generatedTools">, name: string, origin: HttpToolOrigin): ToolPolicy {
  const named = Object.hasOwn(serve.tools, name) ? serve.tools[name] : undefined;
  return named ?? (origin === "built-in" ? "ask" : serve.generatedTools);
}

/**
 * Why the tool may not run over HTTP (undefined when it may). "deny" is refused everywhere; "ask" needs
 * someone to approve: nobody can on `/v1/tools/:name/run` (`approver: "none"`), an MCP client's user does
 * before each call (`approver: "client"`).
 */
export function httpToolRefusal(
  serve: Pick<ServeSettings, "tools" | "generatedTools">,
  name: string,
  origin: HttpToolOrigin,
  approver: "none" | "client",
): string | undefined {
  const policy = httpToolPolicy(serve, name, origin);
  if (policy === "allow" || (policy === "ask" && approver === "client")) return undefined;
  const setting = Object.hasOwn(serve.tools, name) || origin === "built-in" ? `serve.tools.${name}` : "serve.generatedTools";
  const why =
    policy === "deny"
      ? `${setting} is "deny", so ${name} does not run over HTTP`
      : `${name} needs approval ("ask"), and nobody can approve over HTTP`;
  return `${why}; set "serve": { "tools": { "${name}": "allow" } } in org.config.json to run it over HTTP.`;
}
