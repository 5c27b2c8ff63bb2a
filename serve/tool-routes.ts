import type { OrgConfig } from "../config/org-config.ts";
import type { SandboxAccess } from "../sandbox/run-sandboxed.ts";
import type { WorkspaceCopies } from "../workspace/workspace-copies.ts";
import { type AuditSink, HTTP_SESSION } from "../security/audit-log.ts";
import { runTool, toolSet } from "../tools/define-tool.ts";
import { ToolRunRequest } from "./api-schemas.ts";
import { HttpError } from "./http-error.ts";
import { httpToolPolicy, httpToolRefusal } from "./http-tool-policy.ts";
import { readJsonBody } from "./read-json-body.ts";
import type { ServedTools } from "./served-tools.ts";
import type { ServeMetrics } from "./serve-metrics.ts";
import { type Route, route } from "./router.ts";
import type { SessionPool } from "./session-pool.ts";

export type ToolRoutesOptions = SandboxAccess & {
  workspaceCopies: WorkspaceCopies;
  config: OrgConfig;
  workspaceDir: string;
  tools: ServedTools;
  metrics: ServeMetrics;
  sessions: SessionPool;
  audit?: AuditSink;
  /** Each persona's policy per tool in a room (`/v1/messages`, jobs, the OpenAI route), as the room assembly sets it. */
  roomPolicies: () => Promise<{ name: string; tools: Record<string, string> }[]>;
};

/** The tool to run over HTTP with its parsed inputs; 404, 403 or 400 otherwise. */
function checkRun(options: ToolRoutesOptions, name: string, inputs: unknown) {
  const { config, tools } = options;
  const offered = toolSet(tools.all().map((entry) => entry.tool));
  const tool = offered.get(name);
  if (!tool) throw new HttpError(404, `there is no tool "${name}"; GET /v1/tools lists them (${[...offered.keys()].join(", ")}).`);
  const origin = tools.all().some((entry) => entry.origin === "generated" && entry.tool.name === name) ? "generated" : "built-in";
  const refused = httpToolRefusal(config.serve, name, origin, "none");
  if (refused) throw new HttpError(403, refused);
  const parsed = tool.parameters.safeParse(inputs);
  if (!parsed.success) {
    const issues = parsed.error.issues.map(
      (issue: { path: PropertyKey[]; message: string }) => `inputs.${issue.path.map(String).join(".") || "(all)"}: ${issue.message}`,
    );
    throw new HttpError(400, `the inputs do not fit ${name}'s parameters: ${issues.join("; ")}. GET /v1/tools shows its schema.`);
  }
  return offered;
}

/** `GET /v1/tools` and `POST /v1/tools/:name/run`. */
export function toolRoutes(options: ToolRoutesOptions): Route[] {
  const { config, tools } = options;

  async function list(): Promise<Response> {
    const personas = await options.roomPolicies();
    return Response.json({
      commit: tools.commit,
      tools: tools.all().map(({ tool, origin }) => ({
        name: tool.name,
        origin,
        description: tool.description,
        parameters: tool.definition.function.parameters,
        http: httpToolPolicy(config.serve, tool.name, origin),
        // What a room's persona may do with it ("http" is only for POST /v1/tools/:name/run).
        personas: Object.fromEntries(personas.map((persona) => [persona.name, persona.tools[tool.name] ?? "deny"])),
      })),
      ...(tools.problems.length > 0 ? { notOffered: tools.problems } : {}),
    });
  }

  async function run(request: Request, name: string, requestId: string): Promise<Response> {
    const body = await readJsonBody(request, ToolRunRequest, config.serve.maxBodyBytes);
    const offered = checkRun(options, name, body.inputs);
    const lease = await options.sessions.toolSlot(request.signal);
    const started = performance.now();
    try {
      const result = await runTool(
        offered,
        { name, arguments: body.inputs },
        {
          signal: request.signal,
          workspaceDir: options.workspaceDir,
          sessionId: HTTP_SESSION,
          persona: HTTP_SESSION,
          requestId: body.request_id ?? requestId,
          // The room's secret set: what the tool returns, audits or stores (memory_save) is redacted with it.
          secrets: config.secrets,
          ...(options.audit ? { audit: options.audit } : {}),
          sandbox: options.sandbox,
          sandboxPolicy: options.sandboxPolicy,
          workspaceCopies: options.workspaceCopies,
        },
      );
      const seconds = (performance.now() - started) / 1000;
      options.metrics.recordToolRun(name, result.ok, seconds);
      return Response.json({
        tool: name,
        ok: result.ok,
        output: result.output,
        ...(result.data !== undefined ? { data: result.data } : {}),
        exitCode: result.exitCode ?? null,
        durationMs: Math.round(seconds * 1000),
      });
    } finally {
      lease();
    }
  }

  return [
    route("GET", "/v1/tools", () => list()),
    route("POST", "/v1/tools/:name/run", ({ request, params, requestId }) => run(request, params.name, requestId)),
  ];
}
