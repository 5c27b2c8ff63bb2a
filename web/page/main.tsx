import { takePageKey } from "./page-key.ts";
import { openOpeningRoom } from "./room/opening-room.ts";
import "./styles.css";

// The key the login handed over moves to this origin's storage first. Then the room's session is read and its stream
// opened while the rest of the page's code (its modules are evaluated on this import) is evaluated, on the next task.
takePageKey();
const opening = openOpeningRoom();
setTimeout(() => void Promise.all([import("./start.tsx"), opening]).then(([{ start }, opened]) => start(opened)), 0);
