/**
 * Messages to the other side of a thread, collected and posted as one message when the current
 * microtask ends: a supervisor worker's chunk of requests goes out as one `postMessage`, and a
 * thread's replies to the requests it finished in one go come back as one (a `postMessage`
 * and its wake-up of the other thread cost more than the encoding of a small task).
 *
 * Why hand-written: this is the transport itself, and a queue with a fiber draining it would
 * cost a fiber hop per message.
 *
 * @internal
 */
export class Outbox<Item> {
  private items: Array<Item> = []
  /** each item's own transferables (undefined: none), for the one-by-one fallback */
  private owned: Array<ReadonlyArray<unknown> | undefined> = []
  private transfers: Array<unknown> = []
  private scheduled = false

  /**
   * @param post posts the items (and their transferables) as one message; may throw (an item
   * that cannot be cloned)
   * @param unsendable an item that cannot be posted even on its own: settle it another way
   */
  constructor(
    private readonly post: (items: ReadonlyArray<Item>, transfers: ReadonlyArray<unknown>) => void,
    private readonly unsendable: (item: Item, cause: unknown) => void
  ) {}

  add(item: Item, transfers?: ReadonlyArray<unknown>): void {
    const some = transfers !== undefined && transfers.length > 0
    // Node posts a moved buffer without a word, and the other side then fails to read the
    // whole message (a `messageerror`: the thread ends, with every request in the message)
    if (some && transfers.some(isDetached)) return this.unsendable(item, new DetachedTransfer())
    this.items.push(item)
    this.owned.push(some ? transfers : undefined)
    if (some) this.transfers.push(...transfers)
    if (!this.scheduled) {
      this.scheduled = true
      queueMicrotask(this.flush)
    }
  }

  /** Posts what is collected now (a message that must follow them, e.g. an interrupt). */
  readonly flush = (): void => {
    this.scheduled = false
    const items = this.items
    if (items.length === 0) return
    const transfers = this.transfers
    const owned = this.owned
    this.items = []
    this.owned = []
    this.transfers = []
    try {
      // views of one buffer (slices) in several items: it moves once, and they share it
      this.post(items, distinct(transfers))
    } catch {
      // one item cannot be cloned (or transferred): the others still go, one message each
      for (let i = 0; i < items.length; i++) {
        const own = owned[i]
        try {
          // an item posted before this one may have moved a buffer this one shares
          if (own !== undefined && own.some(isDetached)) throw new DetachedTransfer()
          this.post([items[i]!], own === undefined ? [] : distinct(own))
        } catch (cause) {
          this.unsendable(items[i]!, cause)
        }
      }
    }
  }
}

/** A transferable of a message had been transferred already. @internal */
export class DetachedTransfer extends Error {
  constructor() {
    super(
      "a transferable buffer of this message was already transferred (moved to a thread by an earlier message): " +
        "a task sent again (after a crash, or by retry) no longer has its bytes"
    )
  }
}

/** @internal */
export const distinct = (transfers: ReadonlyArray<unknown>): ReadonlyArray<unknown> =>
  transfers.length < 2 ? transfers : Array.from(new Set(transfers))

/** A moved (detached) `ArrayBuffer` reads as empty, and no view can be made on it. @internal */
export const isDetached = (transfer: unknown): boolean => {
  if (!(transfer instanceof ArrayBuffer) || transfer.byteLength > 0) return false
  try {
    new Uint8Array(transfer, 0, 0)
    return false
  } catch {
    return true
  }
}
