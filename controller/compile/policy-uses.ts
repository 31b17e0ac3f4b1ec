// Route uses per shared-policy id (Authorizers, RatePolicies): only policies some winning route uses go into the
// table, and the incremental compile learns whether that set changed without scanning every route.
export class PolicyUses {
  readonly #uses = new Map<string, number>();

  /**
   * Moves one holder's uses from `from` to `to`; true when the set of used ids changed. The new uses are counted
   * before the old ones are dropped, so an id in both never reaches zero and a route that kept its ids changes nothing.
   */
  move(from: readonly string[], to: readonly string[]): boolean {
    let changed = false;
    for (const id of to) {
      const uses = this.#uses.get(id) ?? 0;
      if (uses === 0) changed = true;
      this.#uses.set(id, uses + 1);
    }
    for (const id of from) {
      const uses = (this.#uses.get(id) as number) - 1;
      if (uses === 0) {
        this.#uses.delete(id);
        changed = true;
      } else this.#uses.set(id, uses);
    }
    return changed;
  }

  ids(): IterableIterator<string> {
    return this.#uses.keys();
  }
}
