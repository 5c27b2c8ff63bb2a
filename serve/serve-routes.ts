import type { Route } from "./router.ts";

/**
 * Every route group of `org serve`, in the order the table lists them (a 404 names them so). Each route is one
 * entry, `route(method, pattern, handler)`, in the module that owns its handler; its parameters are typed from its
 * pattern.
 */
export type ServeRouteGroups = {
  /** `/health`, `/metrics`, `/v1/admin/reload`. */
  service: readonly Route[];
  /** `POST /v1/messages`. */
  messages: readonly Route[];
  /** `/v1/sessions…`: the room's stream, messages, approvals, stop, transcripts. */
  sessions: readonly Route[];
  jobs: readonly Route[];
  tools: readonly Route[];
  workflows: readonly Route[];
  /** `/v1/models…`, `/v1/chat/completions`. */
  openAi: readonly Route[];
  mcp: readonly Route[];
};

/** The route table: the groups in order. */
export function serveRoutes(groups: ServeRouteGroups): Route[] {
  return [
    ...groups.service,
    ...groups.messages,
    ...groups.sessions,
    ...groups.jobs,
    ...groups.tools,
    ...groups.workflows,
    ...groups.openAi,
    ...groups.mcp,
  ];
}
