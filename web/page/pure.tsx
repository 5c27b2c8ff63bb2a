import { Component, type ComponentChildren } from "preact";

/**
 * Draws `render()` again only when `stamp` changes: the room's state is changed in place, each reply and turn with a
 * revision number, so a part of the view that did not change (a finished turn, another persona's lane) is skipped.
 */
export class Pure extends Component<{ stamp: string | number; render: () => ComponentChildren }> {
  override shouldComponentUpdate(next: { stamp: string | number }): boolean {
    return next.stamp !== this.props.stamp;
  }

  override render() {
    return this.props.render();
  }
}
