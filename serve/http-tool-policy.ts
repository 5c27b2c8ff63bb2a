import type { ServeSettings } from "../config/serve-settings.ts";
import type { ToolPolicy } from "../config/tool-policy.ts";
import { WORKSPACE_WRITE } from "../config/tool-names.ts";

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

/**
 * Whose tool policies a served room follows. "serve": serve's API for programs (`org serve`, the OpenAI route, jobs
 * and sessions of `org serve`): a workspace change is decided under `serve.tools.workspace_write` ("deny" unless set),
 * which no persona's policy loosens. "room": the room's own, as the terminal follows them (`sandbox.workspaceWrite`, a
 * persona's `tools`): the web room of `org web`, whose person is logged in and answers its questions on the page.
 */
export type RoomPolicySource = "serve" | "room";

/** The `workspace_write` policy a served room's entry point sets over the room's own (undefined: none, the room's rule). */
export function entryWorkspaceWrite(serve: Pick<ServeSettings, "tools">, source: RoomPolicySource): ToolPolicy | undefined {
  if (source === "room") return undefined;
  return (Object.hasOwn(serve.tools, WORKSPACE_WRITE) ? serve.tools[WORKSPACE_WRITE] : undefined) ?? "deny";
}
