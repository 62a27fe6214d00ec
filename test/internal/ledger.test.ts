import { describe, expect, it } from "@effect/vitest"
import { Cause, Chunk, Data, Effect, FastCheck as fc, Fiber, Option, Ref } from "effect"
import { Outcome } from "effect-supervisor"
import { Ledger, type Retention } from "../../src/internal/ledger.js"
import { ACTIVE, DONE, type Entry } from "../../src/internal/queue/taskQueue.js"
import { entryMaker, type Task } from "./queue/entries.js"

class Boom extends Data.TaggedError("Boom")<{ readonly id: number }> {}

type AnyOutcome = Outcome.Outcome<Task, number, Boom>

interface Setup {
  readonly retain?: Partial<Retention>
  readonly combine?: (s: number, a: number, t: Task) => number
  readonly timedOut?: (failure: Outcome.Failure<Task, Boom>) => boolean
}

/** A ledger over a number fold (sum by default), with a hook that logs every outcome. */
const setup = ({ combine = (s, a) => s + a, retain = {}, timedOut }: Setup = {}) =>
  Effect.gen(function*() {
    const stateRef = yield* Ref.make(0)
    const idle = yield* Effect.makeLatch(true)
    const hooked: Array<AnyOutcome> = []
    const ledger = new Ledger<Task, number, Boom, number>(
      0,
      combine,
      stateRef,
      idle,
      { failures: 1000, dropped: 1000, outcomesBuffer: 4096, ...retain },
      { onOutcome: (outcome) => hooked.push(outcome), timedOut },
      "ledger-test",
      () => 0
    )
    const make = entryMaker()
    /** an accepted entry whose settle callback logs what it receives */
    const accepted = () => {
      const entry = make()
      const settled: Array<AnyOutcome> = []
      entry.settle = (outcome: AnyOutcome) => settled.push(outcome)
      ledger.accept()
      return Object.assign(entry, { settled })
    }
    /** whether `awaitIdle` would return now */
    const isIdle = Effect.gen(function*() {
      const waiter = yield* Effect.fork(idle.await)
      yield* Effect.yieldNow()
      const done = Option.isSome(yield* Fiber.poll(waiter))
      yield* Fiber.interrupt(waiter)
      return done
    })
    return { ledger, stateRef, hooked, accepted, isIdle }
  })

const fail = (entry: Entry<Task>) => Outcome.failure(entry.task, new Boom({ id: entry.task.id }), 1)

describe("ledger", () => {
  it.effect("one outcome per entry: every later record or success of it is ignored", () =>
    Effect.gen(function*() {
      const { accepted, hooked, ledger } = yield* setup()
      const failedFirst = accepted()
      const succeededFirst = accepted()
      ledger.take(failedFirst)
      ledger.record(failedFirst, fail(failedFirst), 1)
      ledger.record(failedFirst, Outcome.interrupted(failedFirst.task))
      ledger.succeed(failedFirst, 5, 1)
      ledger.take(succeededFirst)
      ledger.succeed(succeededFirst, 7, 1)
      ledger.succeed(succeededFirst, 7, 1)
      ledger.record(succeededFirst, fail(succeededFirst), 1)
      expect(failedFirst.settled.map((o) => o._tag)).toEqual(["Failure"])
      expect(succeededFirst.settled.map((o) => o._tag)).toEqual(["Success"])
      expect(hooked.map((o) => [o.task.id, o._tag])).toEqual([[0, "Failure"], [1, "Success"]])
      expect(ledger.counts).toMatchObject({ submitted: 2, succeeded: 1, failed: 1, interrupted: 0 })
      expect(ledger.state).toBe(7)
      expect(ledger.running).toBe(0)
    }))

  it.effect("counts every kind of outcome; running counts taken entries only; retries = attempts - 1", () =>
    Effect.gen(function*() {
      const { accepted, ledger } = yield* setup()
      const [a, b, c, d, e, f] = Array.from({ length: 6 }, accepted)
      for (const entry of [a!, b!, c!]) ledger.take(entry)
      expect(ledger.running).toBe(3)
      ledger.succeed(a!, 1, 3)
      ledger.record(b!, fail(b!), 2)
      ledger.record(c!, Outcome.defect(c!.task, "bug", Cause.die("bug")))
      expect(ledger.running).toBe(0)
      ledger.record(d!, Outcome.interrupted(d!.task))
      ledger.record(e!, Outcome.dropped(e!.task))
      ledger.record(f!, Outcome.interrupted(f!.task), 0, true)
      expect(ledger.running).toBe(0)
      expect(ledger.counts).toMatchObject({
        submitted: 6,
        succeeded: 1,
        failed: 1,
        defects: 1,
        interrupted: 2,
        dropped: 1,
        retries: 3
      })
    }))

  it.effect("a timedOut hook (the durable consumer's) counts the failures it names as timeouts, once each", () =>
    Effect.gen(function*() {
      const asked: Array<number> = []
      const { accepted, ledger } = yield* setup({
        timedOut: (failure) => {
          asked.push(failure.task.id)
          return failure.task.id % 2 === 0
        }
      })
      const entries = Array.from({ length: 4 }, accepted)
      for (const entry of entries) ledger.record(entry, fail(entry))
      // a second record of an entry is ignored: it is not asked again, nor counted again
      ledger.record(entries[0]!, fail(entries[0]!))
      const [succeeded, defect, interrupted] = Array.from({ length: 3 }, accepted)
      ledger.succeed(succeeded!, 1, 1)
      ledger.record(defect!, Outcome.defect(defect!.task, "bug", Cause.die("bug")))
      ledger.record(interrupted!, Outcome.interrupted(interrupted!.task))
      // ids 0..3: the hook names 0 and 2
      expect(asked).toEqual([0, 1, 2, 3])
      expect(ledger.counts).toMatchObject({ failed: 4, timeouts: 2, succeeded: 1, defects: 1, interrupted: 1 })
    }))

  it.effect("keeps the most recent failures and dropped tasks, and every task stopped unstarted", () =>
    Effect.gen(function*() {
      const { accepted, ledger } = yield* setup({ retain: { failures: 3, dropped: 2 } })
      for (let i = 0; i < 5; i++) {
        const entry = accepted()
        ledger.record(entry, fail(entry))
      }
      const defective = accepted()
      ledger.record(defective, Outcome.defect(defective.task, "bug", Cause.die("bug")))
      const kept = ledger.failureList.map((o) => `${o._tag} ${o.task.id}`)
      expect(kept).toEqual(["Failure 3", "Failure 4", "Defect 5"])
      const dropped = Array.from({ length: 4 }, accepted)
      for (const entry of dropped) ledger.record(entry, Outcome.dropped(entry.task))
      const unstarted = Array.from({ length: 1500 }, accepted)
      for (const entry of unstarted) ledger.record(entry, Outcome.interrupted(entry.task), 0, true)
      // interrupted after it started: not pending
      const started = accepted()
      ledger.take(started)
      ledger.record(started, Outcome.interrupted(started.task), 1, false)
      expect(ledger.pending.map((task) => task.id)).toEqual([
        dropped[2]!.task.id,
        dropped[3]!.task.id,
        ...unstarted.map((entry) => entry.task.id)
      ])
      expect(ledger.counts).toMatchObject({ failed: 5, defects: 1, dropped: 4, interrupted: 1501 })
    }))

  it.effect("retention 0 keeps nothing but the counts; Infinity keeps everything", () =>
    Effect.gen(function*() {
      const none = yield* setup({ retain: { failures: 0, dropped: 0 } })
      const all = yield* setup({ retain: { failures: Infinity, dropped: Infinity } })
      for (const { accepted, ledger } of [none, all]) {
        for (let i = 0; i < 2000; i++) {
          const entry = accepted()
          ledger.record(entry, i % 2 === 0 ? fail(entry) : Outcome.dropped(entry.task))
        }
      }
      expect(none.ledger.failureList).toEqual([])
      expect(none.ledger.pending).toEqual([])
      expect(none.ledger.counts).toMatchObject({ failed: 1000, dropped: 1000 })
      expect(all.ledger.failureList.map((o) => o.task.id)).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * i))
      expect(all.ledger.pending.map((t) => t.id)).toEqual(Array.from({ length: 1000 }, (_, i) => 2 * i + 1))
    }))

  it.effect("a combine that throws makes that task a Defect, keeps the state, and folds the others", () =>
    Effect.gen(function*() {
      const thrown = new Error("combine broke")
      const { accepted, hooked, isIdle, ledger, stateRef } = yield* setup({
        combine: (s, a) => {
          if (a === 13) throw thrown
          return s + a
        }
      })
      const entries = Array.from({ length: 3 }, accepted)
      for (const entry of entries) ledger.take(entry)
      ledger.succeed(entries[0]!, 1, 1)
      ledger.succeed(entries[1]!, 13, 1)
      ledger.succeed(entries[2]!, 2, 1)
      expect(ledger.state).toBe(3)
      expect(ledger.counts).toMatchObject({ succeeded: 2, defects: 1 })
      expect(ledger.running).toBe(0)
      const [outcome] = entries[1]!.settled
      expect(outcome?._tag).toBe("Defect")
      expect(outcome?._tag === "Defect" && outcome.defect).toBe(thrown)
      expect(ledger.failureList).toEqual([outcome])
      expect(hooked.map((o) => o._tag)).toEqual(["Success", "Defect", "Success"])
      expect(yield* isIdle).toBe(true)
      yield* ledger.publishState
      expect(yield* Ref.get(stateRef)).toBe(3)
    }))

  it.effect("the idle latch opens exactly when the last outstanding task gets its outcome", () =>
    Effect.gen(function*() {
      const { accepted, isIdle, ledger } = yield* setup()
      expect(yield* isIdle).toBe(true)
      const a = accepted()
      const b = accepted()
      expect(yield* isIdle).toBe(false)
      ledger.take(a)
      ledger.succeed(a, 1, 1)
      expect(yield* isIdle).toBe(false)
      ledger.record(a, fail(a)) // ignored: must not count b as done
      expect(yield* isIdle).toBe(false)
      ledger.record(b, Outcome.interrupted(b.task))
      expect(yield* isIdle).toBe(true)
      ledger.record(b, Outcome.interrupted(b.task))
      expect(yield* isIdle).toBe(true)
      const c = accepted()
      expect(yield* isIdle).toBe(false)
      ledger.record(c, Outcome.dropped(c.task))
      expect(yield* isIdle).toBe(true)
    }))

  it.effect("a subscriber gets each outcome once, in order, and holds at most outcomesBuffer unread", () =>
    Effect.gen(function*() {
      const { accepted, ledger } = yield* setup({ retain: { outcomesBuffer: 3 } })
      const mailbox = yield* ledger.subscribe
      const entries = Array.from({ length: 10 }, accepted)
      for (const entry of entries.slice(0, 2)) ledger.record(entry, fail(entry))
      const [first] = yield* mailbox.takeAll
      expect(Chunk.toArray(first).map((o) => o.task.id)).toEqual([0, 1])
      for (const entry of entries.slice(2)) ledger.succeed(entry, 1, 1)
      // stalled: the oldest unread are dropped for this subscriber, nothing else is affected
      expect(yield* mailbox.size).toEqual(Option.some(3))
      ledger.close()
      const [rest, done] = yield* mailbox.takeAll
      expect(Chunk.toArray(rest).map((o) => o.task.id)).toEqual([7, 8, 9])
      expect(done).toBe(true)
      expect(ledger.counts).toMatchObject({ succeeded: 8, failed: 2 })
    }))

  it.effect("an unsubscribed mailbox gets nothing more", () =>
    Effect.gen(function*() {
      const { accepted, ledger } = yield* setup()
      const mailbox = yield* ledger.subscribe
      ledger.unsubscribe(mailbox)
      const entry = accepted()
      ledger.record(entry, fail(entry))
      expect(yield* mailbox.size).toEqual(Option.some(0))
    }))

  // ---- a property: random record sequences, duplicates included ----

  type Kind = "success" | "failure" | "defect" | "interrupted" | "unstarted" | "dropped" | "badFold"

  const kindArb = fc.constantFrom<Kind>(
    "success",
    "failure",
    "defect",
    "interrupted",
    "unstarted",
    "dropped",
    "badFold"
  )

  // plain fast-check over `Effect.runPromise`: `it.effect.prop` costs ~35 ms per run here
  it("first record wins: one hook call and one settle per task, exact counts, idle iff nothing outstanding", () =>
    fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.record({ pick: fc.nat(), kind: kindArb, take: fc.boolean() }), { maxLength: 120 }),
        (tasks, records) =>
          Effect.runPromise(Effect.gen(function*() {
            const { accepted, hooked, isIdle, ledger } = yield* setup({
              retain: { failures: 5, dropped: 5 },
              combine: (s, a) => {
                if (a < 0) throw new Error("negative")
                return s + a
              }
            })
            const entries = Array.from({ length: tasks }, accepted)
            const first = new Map<number, Kind>()
            let expectedState = 0
            for (const { kind, pick, take } of records) {
              const entry = entries[pick % tasks]!
              if (!first.has(entry.task.id)) {
                first.set(entry.task.id, kind)
                if (kind === "success") expectedState += entry.task.id
              }
              if (take && entry.state !== ACTIVE && entry.state !== DONE) ledger.take(entry)
              switch (kind) {
                case "success":
                  ledger.succeed(entry, entry.task.id, 1)
                  break
                case "badFold":
                  ledger.succeed(entry, -1, 1)
                  break
                case "failure":
                  ledger.record(entry, fail(entry), 1)
                  break
                case "defect":
                  ledger.record(entry, Outcome.defect(entry.task, "bug", Cause.die("bug")))
                  break
                case "interrupted":
                  ledger.record(entry, Outcome.interrupted(entry.task), 1)
                  break
                case "unstarted":
                  ledger.record(entry, Outcome.interrupted(entry.task), 0, true)
                  break
                case "dropped":
                  ledger.record(entry, Outcome.dropped(entry.task))
                  break
              }
            }
            const tally = (...kinds: Array<Kind>) => [...first.values()].filter((kind) => kinds.includes(kind)).length
            for (const entry of entries) {
              const calls = hooked.filter((o) => o.task === entry.task).length
              expect(calls).toBe(first.has(entry.task.id) ? 1 : 0)
              expect(entry.settled.length).toBe(calls)
              if (calls === 1) expect(entry.settled[0]).toBe(hooked.find((o) => o.task === entry.task))
            }
            expect(ledger.counts).toMatchObject({
              submitted: tasks,
              succeeded: tally("success"),
              failed: tally("failure"),
              defects: tally("defect", "badFold"),
              interrupted: tally("interrupted", "unstarted"),
              dropped: tally("dropped")
            })
            expect(ledger.state).toBe(expectedState)
            expect(ledger.failureList.length).toBe(Math.min(5, tally("failure", "defect", "badFold")))
            expect(ledger.pending.length).toBe(Math.min(5, tally("dropped")) + tally("unstarted"))
            expect(ledger.running).toBe(entries.filter((entry) => entry.state === ACTIVE).length)
            expect(yield* isIdle).toBe(first.size === tasks)
          }))
      ),
      { numRuns: 300 }
    ))
})
