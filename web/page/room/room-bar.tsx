import { LOGIN_NEEDED } from "../../../serve/login-page.ts";
import { postJson, webApi } from "../api.ts";
import { Pure } from "../pure.tsx";
import { SessionPicker } from "./session-picker.tsx";

type RoomBarProps = {
  session: string | undefined;
  choose: (id: string) => void;
  connection: string;
  mode: string;
  fail: (error: unknown) => void;
};

/** The room's bar: its title, the session picker, the connection and mode, and a new session. */
export function RoomBar({ session, choose, connection, mode, fail }: RoomBarProps) {
  const create = () =>
    webApi()
      .then(({ webApiSchemas }) => postJson("/v1/sessions", {}, webApiSchemas().SessionCreated))
      .then((created) => choose(created.session), fail);
  return (
    <div class="room-bar">
      <h1 class="room-title">Room</h1>
      <Pure stamp={session ?? ""} render={() => <SessionPicker session={session} choose={choose} />} />
      <span class="muted">
        session {session ?? "…"} · {connection} · mode {mode}
      </span>
      {connection === "logged-out" && (
        <span class="error" role="status">
          {LOGIN_NEEDED}
        </span>
      )}
      <button type="button" onClick={create}>
        New session
      </button>
    </div>
  );
}
