import { useEffect, useState } from "preact/hooks";
import { VIEWS, type ViewName } from "../view-paths.ts";

function viewOf(path: string): ViewName {
  return VIEWS.find((view) => view.path === path)?.name ?? "Room";
}

/** The page: the navigation and the view its path names; links change the view without a reload. */
export function App() {
  const [view, setView] = useState<ViewName>(viewOf(location.pathname));
  useEffect(() => {
    const onPop = () => setView(viewOf(location.pathname));
    addEventListener("popstate", onPop);
    return () => removeEventListener("popstate", onPop);
  }, []);
  const go = (event: MouseEvent, name: ViewName, path: string) => {
    if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
    event.preventDefault();
    history.pushState(null, "", path);
    setView(name);
  };
  return (
    <div class="page">
      <header class="top">
        <span class="brand">org</span>
        <nav aria-label="Views">
          {VIEWS.map((entry) => (
            <a key={entry.name} href={entry.path} aria-current={entry.name === view ? "page" : undefined} onClick={(event) => go(event, entry.name, entry.path)}>
              {entry.name}
            </a>
          ))}
        </nav>
      </header>
      <main id="view">
        <h1>{view}</h1>
      </main>
    </div>
  );
}
