import { describe, expect, it } from "@effect/vitest"
import { FastCheck as fc } from "effect"
import * as Fifo from "../../../src/internal/queue/fifo.js"
import { CLAIMED, type Entry, QUEUED } from "../../../src/internal/queue/taskQueue.js"
import { stillReachable } from "../../fixtures/gc.js"
import { entryMaker, ids, markDone, pushAndCancel, type Task, tracking } from "./entries.js"

describe("fifo queue", () => {
  it("claims in submission order, in chunks of at most max, and marks them CLAIMED", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(64)
    const entries = Array.from({ length: 5 }, () => make())
    for (const entry of entries) queue.push(entry)
    expect(queue.size).toBe(5)
    const first = queue.take(3)!
    expect(ids(first)).toEqual([0, 1, 2])
    expect(first.every((entry) => entry.state === CLAIMED)).toBe(true)
    expect(queue.size).toBe(2)
    expect(ids(queue.take(10))).toEqual([3, 4])
    expect(queue.take(1)).toBeUndefined()
    expect(queue.size).toBe(0)
  })

  it("puts handed-back entries ahead of the rest, in their order, as QUEUED", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(64)
    for (let i = 0; i < 6; i++) queue.push(make())
    const chunk = queue.take(4)!
    queue.pushFront(chunk.slice(2))
    expect(chunk.slice(2).every((entry) => entry.state === QUEUED)).toBe(true)
    expect(queue.size).toBe(4)
    expect(ids(queue.take(10))).toEqual([2, 3, 4, 5])
  })

  it("never returns a cancelled entry, and its size drops at once", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(64)
    const entries = Array.from({ length: 6 }, () => make())
    for (const entry of entries) queue.push(entry)
    for (const index of [0, 2, 5]) {
      markDone(entries[index]!)
      queue.cancel(entries[index]!)
    }
    expect(queue.size).toBe(3)
    expect(queue.evictOldest()).toBe(entries[1])
    expect(ids(queue.take(10))).toEqual([3, 4])
    expect(queue.size).toBe(0)
  })

  it("evictOldest skips cancelled entries and returns undefined when nothing waits", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(1)
    const [a, b, c] = [make(), make(), make()]
    queue.push(a)
    queue.push(b)
    queue.push(c)
    markDone(a)
    queue.cancel(a)
    expect(queue.evictOldest()).toBe(b)
    expect(queue.size).toBe(1)
    markDone(c)
    queue.cancel(c)
    expect(queue.evictOldest()).toBeUndefined()
    expect(queue.size).toBe(0)
  })

  it("evictOldest passes over a started entry: the next one goes, the started one is claimed in its turn", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(1)
    const [a, b, c] = [make(), make(), make()]
    a.started = true // its handler ran in `execute`'s caller, and its worker handed it back
    queue.push(a)
    queue.push(b)
    queue.push(c)
    expect(queue.evictOldest()).toBe(b)
    markDone(b) // recorded Dropped
    expect(queue.size).toBe(2)
    expect(ids(queue.take(1))).toEqual([0])
    expect(ids(queue.take(1))).toEqual([2])
    expect(queue.size).toBe(0)
    const d = make()
    d.started = true
    queue.push(d)
    expect(queue.evictOldest()).toBeUndefined()
    expect(queue.size).toBe(1)
  })

  it("drain returns every waiting entry oldest first, handed-back ones first, and empties the queue", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(64)
    const entries = Array.from({ length: 5 }, () => make())
    for (const entry of entries) queue.push(entry)
    const chunk = queue.take(2)!
    markDone(entries[3]!)
    queue.cancel(entries[3]!)
    queue.pushFront([chunk[1]!])
    expect(ids(queue.drain())).toEqual([1, 2, 4])
    expect(queue.size).toBe(0)
    expect(queue.take(1)).toBeUndefined()
  })

  it("ignores key pauses: it holds nothing back", () => {
    const make = entryMaker()
    const queue = Fifo.make<Task>(64)
    queue.pauseKey("")
    queue.push(make())
    expect(queue.heldByKeys()).toBe(0)
    expect(ids(queue.take(1))).toEqual([0])
  })

  describe("memory", () => {
    it("endless push + cancel keeps at most 32 cancelled entries reachable", async () => {
      const make = entryMaker()
      const queue = Fifo.make<Task>(64)
      const refs = pushAndCancel(queue, 20_000, () => make())
      expect(queue.size).toBe(0)
      expect(await stillReachable(refs)).toBeLessThanOrEqual(32)
    })

    it("cancelled entries behind live ones are swept once they outnumber them", async () => {
      const make = entryMaker()
      const queue = Fifo.make<Task>(64)
      const live = Array.from({ length: 100 }, () => make())
      for (const entry of live) queue.push(entry)
      const refs = pushAndCancel(queue, 20_000, () => make())
      expect(queue.size).toBe(100)
      expect(await stillReachable(refs)).toBeLessThanOrEqual(100)
      expect(ids(queue.take(200))).toEqual(ids(live))
    })

    it("a producer that stays ahead of the takes never keeps taken entries reachable", async () => {
      const make = entryMaker()
      const queue = Fifo.make<Task>(64)
      const refs = tracking(20_000, (_, track) => {
        for (const entry of [make(), make()]) {
          track(entry)
          queue.push(entry)
        }
        for (const entry of queue.take(1)!) {
          markDone(entry)
          queue.finished(entry)
        }
      })
      expect(queue.size).toBe(20_000)
      // the taken half is gone; only the waiting half stays
      expect(await stillReachable(refs)).toBe(20_000)
    })
  })

  // ---- model-based: random operation sequences against a plain array ----

  type Op =
    | { readonly op: "push" }
    | { readonly op: "take"; readonly max: number }
    | { readonly op: "handBack"; readonly count: number }
    | { readonly op: "cancelWaiting"; readonly pick: number }
    | { readonly op: "cancelClaimed"; readonly pick: number }
    | { readonly op: "finish"; readonly pick: number }
    | { readonly op: "evictOldest" }
    | { readonly op: "drain" }
    | { readonly op: "pauseKey" }
    | { readonly op: "resumeKey" }

  const opArb: fc.Arbitrary<Op> = fc.oneof(
    { weight: 6, arbitrary: fc.constant({ op: "push" as const }) },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("take" as const), max: fc.integer({ min: 1, max: 6 }) }) },
    {
      weight: 1,
      arbitrary: fc.record({ op: fc.constant("handBack" as const), count: fc.integer({ min: 1, max: 4 }) })
    },
    { weight: 3, arbitrary: fc.record({ op: fc.constant("cancelWaiting" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.record({ op: fc.constant("cancelClaimed" as const), pick: fc.nat() }) },
    { weight: 2, arbitrary: fc.record({ op: fc.constant("finish" as const), pick: fc.nat() }) },
    { weight: 1, arbitrary: fc.constant({ op: "evictOldest" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "drain" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "pauseKey" as const }) },
    { weight: 1, arbitrary: fc.constant({ op: "resumeKey" as const }) }
  )

  it("agrees with a reference FIFO on random sequences of every operation", () => {
    fc.assert(
      fc.property(fc.array(opArb, { maxLength: 300 }), (ops) => {
        const make = entryMaker()
        const queue = Fifo.make<Task>(64)
        let waiting: Array<Entry<Task>> = []
        /** claimed by "workers", in claim order */
        const claimed: Array<Entry<Task>> = []
        const removeAt = <A>(array: Array<A>, pick: number): A | undefined =>
          array.length === 0 ? undefined : array.splice(pick % array.length, 1)[0]
        for (const op of ops) {
          switch (op.op) {
            case "push": {
              const entry = make()
              queue.push(entry)
              waiting.push(entry)
              break
            }
            case "take": {
              const chunk = queue.take(op.max)
              const expected = waiting.splice(0, op.max)
              if (expected.length === 0) expect(chunk).toBeUndefined()
              else expect(ids(chunk)).toEqual(ids(expected))
              for (const entry of chunk ?? []) expect(entry.state).toBe(CLAIMED)
              claimed.push(...(chunk ?? []))
              break
            }
            case "handBack": {
              // a worker stops: the unstarted tail of what it claimed goes back, in order
              const back = claimed.splice(Math.max(0, claimed.length - op.count))
              queue.pushFront(back)
              for (const entry of back) expect(entry.state).toBe(QUEUED)
              waiting = [...back, ...waiting]
              break
            }
            case "cancelWaiting": {
              const entry = removeAt(waiting, op.pick)
              if (entry === undefined) break
              markDone(entry)
              queue.cancel(entry)
              break
            }
            case "cancelClaimed":
            case "finish": {
              // cancelled after the claim, or ended: either way the queue hears `finished`
              const entry = removeAt(claimed, op.pick)
              if (entry === undefined) break
              markDone(entry)
              queue.finished(entry)
              break
            }
            case "evictOldest": {
              const entry = queue.evictOldest()
              const expected = waiting.shift()
              expect(entry).toBe(expected)
              if (entry !== undefined) markDone(entry)
              break
            }
            case "drain": {
              const rest = queue.drain()
              expect(ids(rest)).toEqual(ids(waiting))
              for (const entry of rest) markDone(entry)
              waiting = []
              break
            }
            case "pauseKey":
              queue.pauseKey("")
              break
            case "resumeKey":
              queue.resumeKey("")
              break
          }
          expect(queue.size).toBe(waiting.length)
          expect(queue.heldByKeys()).toBe(0)
        }
        // whatever is left comes out in order, and nothing else
        expect(ids(queue.drain())).toEqual(ids(waiting))
      }),
      { numRuns: 400 }
    )
  })
})
