import { takePageKey } from "./page-key.ts";
import { openOpeningRoom } from "./room/opening-room.ts";
import "./styles.css";

// The key the login handed over moves to this origin's storage first. Then the room's opening is read and its stream
// opened, and only then is the rest of the page's code (its modules are evaluated on this import) evaluated, on a task
// of its own: evaluated at once, it would hold the main thread while the opening's answer waited to be taken, and the
// browser sends the stream's request from a task of its own, which would otherwise wait for all of that code too.
takePageKey();
void openOpeningRoom().then((opening) => setTimeout(() => void import("./start.tsx").then(({ start }) => start(opening)), 0));
