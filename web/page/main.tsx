import { openOpeningRoom } from "./room/opening-room.ts";
import "./styles.css";

// The room's stream is opened first, and the rest of the page's code (its modules are evaluated on this import) waits
// for the next task: the browser sends the stream's request from a task of its own, which would otherwise wait for
// all of that code.
const opening = openOpeningRoom();
setTimeout(() => void import("./start.tsx").then(({ start }) => start(opening)), 0);
