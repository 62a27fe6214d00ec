import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Ref } from "effect"
import { Ledger } from "../../src/internal/ledger.js"
import { Source } from "../../src/internal/progress.js"
import { entryMaker, type Task } from "./queue/entries.js"

const setup = Effect.gen(function*() {
  const ledger = new Ledger<Task, number, never, void>(
    undefined,
    undefined,
    yield* Ref.make<void>(undefined),
    yield* Effect.makeLatch(true),
    { failures: 0, dropped: 0, outcomesBuffer: 1 },
    {},
    "progress-test",
    () => 0
  )
  return { ledger, source: new Source(ledger, () => false, Effect.never), entry: entryMaker() }
})

describe("progress Source", () => {
  it.effect("awaitBusy: the ledger's hook is set only while someone waits, and one accept wakes every waiter", () =>
    Effect.gen(function*() {
      const { entry, ledger, source } = yield* setup
      expect(ledger.onBusy).toBeUndefined()
      const first = yield* Effect.fork(source.awaitBusy)
      const second = yield* Effect.fork(source.awaitBusy)
      yield* Effect.yieldNow()
      expect(ledger.onBusy).toBeTypeOf("function")
      expect(first.unsafePoll()).toBeNull()
      ledger.accept()
      yield* Fiber.join(first)
      yield* Fiber.join(second)
      expect(ledger.onBusy).toBeUndefined()
      // already busy: at once, no hook
      yield* source.awaitBusy
      expect(ledger.onBusy).toBeUndefined()
      ledger.succeed(entry(), 1, 1)
      expect(source.busy).toBe(false)
    }))

  it.effect("an interrupted waiter takes the hook away when it was the last one", () =>
    Effect.gen(function*() {
      const { ledger, source } = yield* setup
      const first = yield* Effect.fork(source.awaitBusy)
      const second = yield* Effect.fork(source.awaitBusy)
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(first)
      expect(ledger.onBusy).toBeTypeOf("function")
      yield* Fiber.interrupt(second)
      expect(ledger.onBusy).toBeUndefined()
    }))
})
