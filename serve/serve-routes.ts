import type { jobsRoutes } from "./jobs-routes.ts";
import type { McpHttp } from "./mcp-http.ts";
import type { messagesRoute } from "./messages-route.ts";
import type { createOpenAiChat } from "./openai-chat.ts";
import { type Route, route } from "./router.ts";
import type { toolRoutes } from "./tool-routes.ts";
import type { workflowRoutes } from "./workflow-routes.ts";

/** What serve's routes answer with, built by `createServeHandler`. */
export type ServeRouteParts = {
  health: () => Response;
  messages: ReturnType<typeof messagesRoute>;
  tools: ReturnType<typeof toolRoutes>;
  workflows: ReturnType<typeof workflowRoutes>;
  metrics: () => Response;
  reload: () => Promise<Response>;
  jobs: ReturnType<typeof jobsRoutes>;
  openAi: ReturnType<typeof createOpenAiChat>;
  mcp: McpHttp;
};

/** Every route of `org serve`, each with its method(s), pattern and handler: the only place a route is named. */
export function serveRoutes(parts: ServeRouteParts): Route[] {
  return [
    route("GET", "/health", () => parts.health(), { auth: false }),
    route("POST", "/v1/messages", ({ request, requestId }) => parts.messages(request, requestId)),
    route("POST", "/v1/jobs", ({ request }) => parts.jobs.post(request)),
    route("GET", "/v1/jobs/:id", ({ params }) => parts.jobs.get(params.id ?? "")),
    route("GET", "/v1/jobs/:id/events", ({ request, params }) => parts.jobs.events(request, params.id ?? "")),
    route("GET", "/v1/tools", () => parts.tools.list()),
    route("POST", "/v1/tools/:name/run", ({ request, params, requestId }) => parts.tools.run(request, params.name ?? "", requestId)),
    route("GET", "/v1/workflows", () => parts.workflows.list()),
    route("POST", "/v1/workflows/:name/run", ({ request, params, requestId }) => parts.workflows.run(request, params.name ?? "", requestId)),
    route("GET", "/metrics", () => parts.metrics()),
    route("POST", "/v1/admin/reload", () => parts.reload()),
    route("GET", "/v1/models", () => parts.openAi.models()),
    route("GET", "/v1/models/:id", ({ params }) => parts.openAi.model(params.id ?? "")),
    route("POST", "/v1/chat/completions", ({ request, requestId }) => parts.openAi.completions(request, requestId)),
    route(["POST", "GET", "DELETE"], "/mcp", ({ request }) => parts.mcp.handle(request), { sameOrigin: true }),
  ];
}
