/** The web room's views, each a link in the page's navigation and a path the server answers with the page. */
export const VIEWS = [
  { name: "Room", path: "/" },
  { name: "Changes", path: "/changes" },
  { name: "Tools", path: "/tools" },
  { name: "Candidates", path: "/candidates" },
  { name: "Growth", path: "/growth" },
  { name: "Supervisor", path: "/supervisor" },
  { name: "Memory", path: "/memory" },
] as const;

export type ViewName = (typeof VIEWS)[number]["name"];

export const VIEW_PATHS: readonly string[] = VIEWS.map((view) => view.path);
